import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Container } from '../../src/main/container.js';
import { makeTestCli, type TestCli } from '../helpers/cli.js';
import { assertBuilt } from '../helpers/tny-process.js';
import { expectImportedOnce, importFile, killedAt, linksOf, stagedRows } from './saga-support.js';

/**
 * The embedded default runs the same import saga over one partition (`main`): killed at each
 * step (compiled CLI, SIGKILL) on the SQLite file, the same command resumes and every row is
 * imported exactly once with the keys it was planned with.
 */
describe('tny links import on embedded SQLite: kill -9 at every saga step', () => {
  let cli: TestCli;
  const withC = <T>(fn: (c: Container) => Promise<T>) => cli.runtime().withContainer(fn);
  const ROWS = 120;

  beforeAll(async () => {
    assertBuilt();
    cli = await makeTestCli();
  });
  afterAll(() => cli?.close());

  it('has one partition and the steps this test kills at', async () => {
    expect(await withC(async (c) => [c.sagas.partitions.names, c.sagas.runner.stepNames('import-links')])).toEqual([['main'], ['plan', 'insert-main', 'finish']]);
  });

  const points = ['import:staged', 'saga:import-links:plan:after', 'saga:import-links:insert-main:before', 'import:insert-main:batch', 'saga:import-links:insert-main:after', 'saga:import-links:finish:after'];
  for (const [i, point] of points.entries()) {
    it(`killed at ${point}: the same command resumes; each row once, same keys`, async () => {
      const name = `lite${i}`;
      expect((await cli.run('keys', 'create', '--name', name)).error).toBeUndefined();
      const id = await withC(async (c) => (await c.accounts.findAccountByName(name))!.id);
      const file = importFile(cli.dir, `lite${i}.csv`, `l${i}`, ROWS);
      await killedAt(cli, point, ['links', 'import', file.path, '--account', name, '--batch', '50']);
      const planned = await withC(async (c) => {
        const staged = await c.database.db.selectFrom('import_staging').select('short_key').where('run_id', 'like', `import:${id}:%`).execute();
        return staged.length > 0 ? staged.map((r) => r.short_key).sort() : (await linksOf(c, id)).map((l) => l.key).sort();
      });
      const again = await cli.run('links', 'import', file.path, '--account', name, '--batch', '50');
      expect(again.error).toBeUndefined();
      expect(again.out).toContain(`created ${ROWS}\n`);
      if (point !== 'import:staged') expect(again.out).toContain(`resuming run import:${id}:`);
      const links = await withC((c) => linksOf(c, id));
      expectImportedOnce(links, file, `l${i}`);
      if (point !== 'import:staged') expect(links.map((l) => l.key).sort()).toEqual(planned);
      expect(await withC(stagedRows)).toBe(0);
    }, 60_000);
  }
});

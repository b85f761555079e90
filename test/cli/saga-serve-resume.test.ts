import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Container } from '../../src/main/container.js';
import { makeTestCli, type TestCli } from '../helpers/cli.js';
import { assertBuilt, killAll, startServer } from '../helpers/tny-process.js';
import { expectImportedOnce, importFile, killedAt, linksOf, stagedRows } from './saga-support.js';

/**
 * `tny serve` resumes sagas cut off by a crash when it starts (roles all and worker; not api):
 * an import killed half-way and an account deletion killed half-way are both finished by the
 * next server start, with nobody running the commands again.
 */
describe('tny serve resumes unfinished sagas at start', () => {
  let cli: TestCli;
  const withC = <T>(fn: (c: Container) => Promise<T>) => cli.runtime().withContainer(fn);

  beforeAll(async () => {
    assertBuilt();
    cli = await makeTestCli({ AUTH_CACHE_TTL_SECONDS: '0' });
  });
  afterEach(() => killAll());
  afterAll(() => cli?.close());

  const waitUntil = async (what: string, check: () => Promise<boolean>) => {
    for (let i = 0; i < 300; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  it('an import killed in its insert step and a deletion killed after deleting links: --role api leaves them, the default role finishes both', async () => {
    expect((await cli.run('keys', 'create', '--name', 'importer')).error).toBeUndefined();
    expect((await cli.run('keys', 'create', '--name', 'leaver')).error).toBeUndefined();
    const f = importFile(cli.dir, 'serve.csv', 'sv', 80);
    await killedAt(cli, 'import:insert-main:batch', ['links', 'import', f.path, '--account', 'importer', '--batch', '30']);
    const g = importFile(cli.dir, 'leaver.csv', 'lv', 20);
    expect((await cli.run('links', 'import', g.path, '--account', 'leaver')).error).toBeUndefined();
    await killedAt(cli, 'saga:delete-account:delete-links-main:after', ['accounts', 'delete', 'leaver']);
    const ids = await withC(async (c) => ({ importer: (await c.accounts.findAccountByName('importer'))!.id, leaver: (await c.accounts.findAccountByName('leaver'))!.id }));
    expect((await withC((c) => c.sagas.runner.unfinished())).map((r) => r.name).sort()).toEqual(['delete-account', 'import-links']);

    const api = await startServer({ ...cli.env, TNY_ROLE: 'api' });
    await new Promise((r) => setTimeout(r, 300));
    expect(await withC((c) => c.sagas.runner.unfinished())).toHaveLength(2);
    api.child.kill('SIGTERM');
    await api.waitExit(15_000);

    const all = await startServer(cli.env);
    await waitUntil('both runs to finish', async () => (await withC((c) => c.sagas.runner.unfinished())).length === 0);
    const state = await withC(async (c) => ({
      importer: await linksOf(c, ids.importer),
      leaverAccount: await c.accounts.findAccountById(ids.leaver),
      leaverLinks: await linksOf(c, ids.leaver),
      staged: await stagedRows(c),
      runs: (await c.database.db.selectFrom('saga_runs').select(['name', 'state']).orderBy('name').execute()).map((r) => `${r.name}:${r.state}`),
    }));
    expectImportedOnce(state.importer, f, 'sv');
    expect(state.leaverAccount).toBeUndefined();
    expect(state.leaverLinks).toEqual([]);
    expect(state.staged).toBe(0);
    expect(state.runs).toEqual(['delete-account:done', 'import-links:done', 'import-links:done']);
    // The server answers for the imported links (its caches were told).
    const res = await fetch(`${all.baseUrl}/sv-a0`, { redirect: 'manual' });
    expect(res.status).toBe(301);
  }, 90_000);
});

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Container } from '../../src/main/container.js';
import { isTnyError } from '../../src/platform/errors.js';
import { makeTestCli, type TestCli } from '../helpers/cli.js';
import { createTestDatabases, describeSharded, TEST_SHARD_COUNT } from '../helpers/databases.js';
import { assertBuilt } from '../helpers/tny-process.js';
import { expectImportedOnce, importFile, killedAt, linksOf, stagedRows } from './saga-support.js';

/**
 * `tny links import` as a saga on 3 PostgreSQL shards, killed (SIGKILL, through the compiled
 * CLI's TNY_FAULT_KILL) at each step; the same command again resumes the run and every row
 * ends up imported exactly once, with the keys it was planned with, and nothing of another
 * account is touched. A shard failing for good makes the run compensate: the links it had
 * inserted on the other shards are removed, also when that compensation is itself killed.
 */
describeSharded('tny links import: kill -9 at every saga step on 3 shards', () => {
  let drop = async () => {};
  let urls: string[] = [];
  let cli: TestCli;
  let other: { id: number; links: string[] };
  const ROWS = 150;

  const withC = <T>(fn: (c: Container) => Promise<T>) => cli.runtime().withContainer(fn);
  const accountId = (name: string) => withC(async (c) => (await c.accounts.findAccountByName(name))!.id);
  /** line → key staged for the account's unfinished import, on every shard. */
  const stagedKeys = (id: number) =>
    withC(async (c) => {
      const keys: string[] = [];
      for (const s of c.database.shards!.shards) {
        const rows = await s.database.db.selectFrom('import_staging').select('short_key').where('run_id', 'like', `import:${id}:%`).execute();
        keys.push(...rows.map((r) => r.short_key));
      }
      return keys.sort();
    });
  const otherUntouched = async () => {
    const links = await withC((c) => linksOf(c, other.id));
    expect(links.map((l) => l.key).sort()).toEqual(other.links);
  };

  beforeAll(async () => {
    assertBuilt();
    const made = await createTestDatabases(process.env.DATABASE_URL_TEST!, TEST_SHARD_COUNT);
    drop = made.drop;
    urls = made.urls;
    cli = await makeTestCli({ DATABASE_SHARDS: urls.join(','), DATABASE_POOL_SIZE: '2', AUTH_CACHE_TTL_SECONDS: '0' });
    expect((await cli.run('keys', 'create', '--name', 'other')).error).toBeUndefined();
    const f = importFile(cli.dir, 'other.csv', 'other', 30);
    expect((await cli.run('links', 'import', f.path, '--account', 'other')).error).toBeUndefined();
    const id = await accountId('other');
    other = { id, links: (await withC((c) => linksOf(c, id))).map((l) => l.key).sort() };
    expect(other.links).toHaveLength(30);
  }, 60_000);
  afterAll(async () => {
    cli?.close();
    await drop();
  });

  const points = [
    'import:staged',
    'saga:import-links:plan:after',
    'saga:import-links:insert-s0:after',
    'saga:import-links:insert-s1:after',
    'saga:import-links:insert-s2:after',
    'saga:import-links:finish:after',
  ];
  for (const [i, point] of points.entries()) {
    it(`killed at ${point}: the same command resumes; each row once, same keys, other accounts untouched`, async () => {
      const name = `imp${i}`;
      expect((await cli.run('keys', 'create', '--name', name)).error).toBeUndefined();
      const id = await accountId(name);
      const file = importFile(cli.dir, `imp${i}.csv`, `p${i}`, ROWS, ['not-a-url,,']);
      await killedAt(cli, point, ['links', 'import', file.path, '--account', name]);
      // The keys the rows were given: staged, or (killed after the staging was cleared) inserted.
      const staged = await stagedKeys(id);
      const planned = staged.length > 0 ? staged : (await withC((c) => linksOf(c, id))).map((l) => l.key).sort();
      const again = await cli.run('links', 'import', file.path, '--account', name);
      expect(again.error).toBeUndefined();
      if (point === 'import:staged') {
        // Killed before the run was recorded: planned again from the file (staging cleared first).
        expect(again.out).not.toContain('resuming run');
      } else {
        expect(again.out).toContain(`resuming run import:${id}:`);
        expect(planned).toHaveLength(ROWS);
      }
      expect(again.out).toContain(`created ${ROWS}\n`);
      expect(again.out).toContain('skipped 1: invalid url 1\n');
      const links = await withC((c) => linksOf(c, id));
      expectImportedOnce(links, file, `p${i}`);
      if (point !== 'import:staged') expect(links.map((l) => l.key).sort()).toEqual(planned);
      // Spread over the shards, nothing left staged, the run done.
      const shardsUsed = await withC(async (c) => new Set(links.map((l) => c.database.shards!.shardFor(l.key).name)).size);
      expect(shardsUsed).toBe(TEST_SHARD_COUNT);
      expect(await withC(stagedRows)).toBe(0);
      const run = await withC(async (c) => (await c.sagas.runner.unfinished()).length);
      expect(run).toBe(0);
      await otherUntouched();
      // A third time: the finished run's report; nothing written.
      const third = await cli.run('links', 'import', file.path, '--account', name);
      expect(third.out).toContain('already (run import:');
      expect((await withC((c) => linksOf(c, id))).length).toBe(ROWS);
    }, 90_000);
  }

  describe('a shard that fails for good', () => {
    const breakShard = async (on: boolean) => {
      const client = new pg.Client({ connectionString: urls[2] });
      await client.connect();
      try {
        if (on) {
          await client.query(`create or replace function saga_test_broken() returns trigger language plpgsql as $$ begin raise exception 'shard s2 is broken for good'; end $$`);
          await client.query('create trigger saga_test_broken before insert on short_urls for each row execute function saga_test_broken()');
        } else {
          await client.query('drop trigger saga_test_broken on short_urls');
        }
      } finally {
        await client.end();
      }
    };

    it('compensates: the links inserted on s0 and s1 are removed (also when killed while compensating), the run is failed with the reason; the next import is a new run', async () => {
      const name = 'failing';
      expect((await cli.run('keys', 'create', '--name', name)).error).toBeUndefined();
      const id = await accountId(name);
      const file = importFile(cli.dir, 'failing.csv', 'f', ROWS);
      // s0 and s1 get their rows, then the process dies before s2.
      await killedAt(cli, 'saga:import-links:insert-s2:before', ['links', 'import', file.path, '--account', name]);
      const inserted = (await withC((c) => linksOf(c, id))).length;
      expect(inserted).toBeGreaterThan(0);
      expect(inserted).toBeLessThan(ROWS);
      await breakShard(true);
      try {
        // Resumed: s2 fails for good, compensation starts and is killed right after undoing s1.
        await killedAt(cli, 'saga:import-links:compensate:insert-s1:after', ['links', 'import', file.path, '--account', name]);
        const resumed = await cli.run('sagas', 'resume');
        expect(resumed.error).toBeUndefined();
        expect(resumed.out).toContain('failed');
        expect(await withC((c) => c.sagas.runner.unfinished())).toEqual([]);
        const failed = await withC(async (c) => {
          const all = await c.database.db.selectFrom('saga_runs').selectAll().where('id', 'like', `import:${id}:%`).execute();
          return all;
        });
        expect(failed).toHaveLength(1);
        expect(failed[0]).toMatchObject({ state: 'failed' });
        expect(failed[0]!.error).toContain('insert-s2');
        expect(failed[0]!.error).toContain('shard s2 is broken for good');
        expect(await withC((c) => linksOf(c, id))).toEqual([]);
        expect(await withC(stagedRows)).toBe(0);
        // Importing again while s2 is still broken: a new run, which fails and undoes itself too.
        const again = await cli.run('links', 'import', file.path, '--account', name);
        expect(isTnyError(again.error) && again.error.code).toBe('IMPORT_FAILED');
        expect(await withC((c) => linksOf(c, id))).toEqual([]);
      } finally {
        await breakShard(false);
      }
      await otherUntouched();
      const fixed = await cli.run('links', 'import', file.path, '--account', name);
      expect(fixed.error).toBeUndefined();
      expect(fixed.out).toContain(`(run import:${id}:`);
      expect(fixed.out).toMatch(/:3\)\n/);
      expectImportedOnce(await withC((c) => linksOf(c, id)), file, 'f');
    }, 120_000);
  });
});

import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabases, describeSharded, TEST_SHARD_COUNT } from '../helpers/databases.js';
import { makeTestCli, type TestCli } from '../helpers/cli.js';

describeSharded('tny CLI on DATABASE_SHARDS', () => {
  let drop = async () => {};
  let cli: TestCli & { adminKey: string };
  beforeAll(async () => {
    const made = await createTestDatabases(process.env.DATABASE_URL_TEST!, TEST_SHARD_COUNT);
    drop = made.drop;
    cli = await makeTestCli({ DATABASE_SHARDS: made.urls.join(',') });
  }, 60_000);
  afterAll(async () => {
    cli?.close();
    await drop();
  });

  it('migrates every shard, keeps accounts on s0 (the key made by the CLI works in the app) and creates links on the shards', async () => {
    expect((await cli.run('migrate')).out).toBe('database schema is up to date\n');
    const created = await cli.run('keys', 'create', '--name', 'cli-team');
    expect(created.error).toBeUndefined();
    const token = /tny_[0-9A-Za-z]{12}_[0-9A-Za-z]{32}/.exec(created.out)![0];
    await cli.runtime().withContainer(async (c) => {
      expect(c.database.shards?.size).toBe(TEST_SHARD_COUNT);
      expect(await c.auth.authenticate(token)).toMatchObject({ isAdmin: false });
      const names = await c.database.db.selectFrom('accounts').select('name').execute();
      expect(names.map((n) => n.name)).toContain('cli-team');
      for (const shard of c.database.shards!.shards.slice(1)) {
        expect(await shard.database.db.selectFrom('accounts').select('name').execute()).toEqual([]);
      }
    });
  });
});

import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/adapters/sql/schema.js';
import type { Container } from '../../src/main/container.js';
import { makeTestCli, type TestCli } from '../helpers/cli.js';
import { createTestDatabases, describeSharded, TEST_SHARD_COUNT } from '../helpers/databases.js';
import { assertBuilt } from '../helpers/tny-process.js';
import { importFile, killedAt, linksOf } from './saga-support.js';

const NOTIFIER_TABLES = [
  'notifier_recipients',
  'notifier_contact_points',
  'notifier_preferences',
  'notifier_categories',
  'notifier_templates',
  'notifier_notifications',
  'notifier_deliveries',
  'notifier_inbox',
] as const;

/**
 * A little of everything an account owns outside its links, written straight to the databases:
 * per-recipient notifier rows on EVERY shard (recipient r<i> on shard i: they live on their
 * recipient's shard, ADR 10), categories, templates and idempotency keys on the home database.
 */
async function seedAccountData(c: Container, accountId: number): Promise<void> {
  const now = Date.now();
  const home = c.database.db;
  for (const [i, db] of shardDbs(c).entries()) {
    const r = `r${i}`;
    await db.insertInto('notifier_recipients').values({ account_id: accountId, id: r, locale: 'en', time_zone: 'UTC', created_at: now, updated_at: now }).execute();
    await db
      .insertInto('notifier_contact_points')
      .values({ account_id: accountId, recipient_id: r, kind: 'email', address: `${r}@${accountId}.test`, keys: null, valid: 1, created_at: now, updated_at: now })
      .execute();
    await db.insertInto('notifier_preferences').values({ account_id: accountId, recipient_id: r, body: '{}', updated_at: now }).execute();
    await db
      .insertInto('notifier_notifications')
      .values({ id: `n-${accountId}-${i}`, account_id: accountId, recipient_id: r, category: 'news', template: 'hi', data: '{}', priority: 'normal', send_at: null, created_at: now })
      .execute();
    await db
      .insertInto('notifier_deliveries')
      .values({
        id: `n-${accountId}-${i}.email`, notification_id: `n-${accountId}-${i}`, account_id: accountId, channel: 'email', status: 'sent', reason: null, contact_id: null, message: null,
        run_at: now, attempts: 1, claim_token: null, claimed_at: null, provider_message_id: null, last_error: null, log: '[]', created_at: now, updated_at: now,
      })
      .execute();
    await db.insertInto('notifier_inbox').values({ account_id: accountId, recipient_id: r, idempotency_key: 'k1', title: 't', body: 'b', data: null, created_at: now, read_at: null }).execute();
  }
  await home
    .insertInto('notifier_categories')
    .values({ account_id: accountId, name: 'news', description: '', default_channels: '[]', fallback: '[]', critical: 0, cap_count: null, cap_window_ms: null, created_at: now, updated_at: now })
    .execute();
  await home.insertInto('notifier_templates').values({ account_id: accountId, name: 'hi', channel: 'email', locale: 'en', subject: 's', body: 'b', html: null, created_at: now, updated_at: now }).execute();
  await home
    .insertInto('idempotency_keys')
    .values({ scope: `account:${accountId}`, key: 'idem-1', request_hash: 'h', status_code: 201, response: '{}', created_at: now, expires_at: now + 3_600_000 })
    .execute();
}

/** Every shard's database (the one database when not sharded). */
function shardDbs(c: Container): Kysely<Database>[] {
  return c.database.shards ? c.database.shards.shards.map((s) => s.database.db) : [c.database.db];
}

/** Rows the account still owns, table by table (links on every shard). */
async function owned(c: Container, accountId: number): Promise<Record<string, number>> {
  const db = c.database.db;
  const count = async (q: Promise<{ n: number | string | bigint }>) => Number((await q).n);
  const out: Record<string, number> = {};
  out.accounts = await count(db.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('n')).where('id', '=', accountId).executeTakeFirstOrThrow());
  out.api_keys = await count(db.selectFrom('api_keys').select((eb) => eb.fn.countAll<number>().as('n')).where('account_id', '=', accountId).executeTakeFirstOrThrow());
  out.active_keys = await count(
    db.selectFrom('api_keys').select((eb) => eb.fn.countAll<number>().as('n')).where('account_id', '=', accountId).where('revoked_at', 'is', null).executeTakeFirstOrThrow(),
  );
  for (const t of NOTIFIER_TABLES) {
    out[t] = 0;
    for (const shard of shardDbs(c)) {
      out[t] += await count(shard.selectFrom(t).select((eb) => eb.fn.countAll<number>().as('n')).where('account_id', '=', accountId).executeTakeFirstOrThrow());
    }
  }
  out.idempotency_keys = await count(
    db.selectFrom('idempotency_keys').select((eb) => eb.fn.countAll<number>().as('n')).where('scope', '=', `account:${accountId}`).executeTakeFirstOrThrow(),
  );
  out.links = (await linksOf(c, accountId)).length;
  return out;
}

const NOTHING = { accounts: 0, api_keys: 0, active_keys: 0, idempotency_keys: 0, links: 0, ...Object.fromEntries(NOTIFIER_TABLES.map((t) => [t, 0])) };

/**
 * `tny accounts delete` as a saga on 3 PostgreSQL shards, killed (compiled CLI, SIGKILL) right
 * after each step's effect and before its record; running the command again finishes it: the
 * account, its keys, links on every shard, notifier data and idempotency keys are gone, and
 * another account's are all still there. While an import into the account is unfinished the
 * deletion fails and its compensation gives the keys back (also when killed in between).
 */
describeSharded('tny accounts delete: kill -9 at every saga step on 3 shards', () => {
  let drop = async () => {};
  let cli: TestCli;
  let other: { id: number; owned: Record<string, number> };
  const withC = <T>(fn: (c: Container) => Promise<T>) => cli.runtime().withContainer(fn);
  const accountId = (name: string) => withC(async (c) => (await c.accounts.findAccountByName(name))!.id);

  /** An account with 2 keys, 45 links over the shards and notifier data. */
  const makeAccount = async (name: string) => {
    expect((await cli.run('keys', 'create', '--name', name)).error).toBeUndefined();
    expect((await cli.run('keys', 'create', '--name', `${name}-2`, '--account', name)).error).toBeUndefined();
    const f = importFile(cli.dir, `${name}.csv`, name, 45);
    expect((await cli.run('links', 'import', f.path, '--account', name)).error).toBeUndefined();
    const id = await accountId(name);
    await withC((c) => seedAccountData(c, id));
    return id;
  };

  beforeAll(async () => {
    assertBuilt();
    const made = await createTestDatabases(process.env.DATABASE_URL_TEST!, TEST_SHARD_COUNT);
    drop = made.drop;
    cli = await makeTestCli({ DATABASE_SHARDS: made.urls.join(','), DATABASE_POOL_SIZE: '2', AUTH_CACHE_TTL_SECONDS: '0' });
    const id = await makeAccount('bystander');
    other = { id, owned: await withC((c) => owned(c, id)) };
    expect(other.owned).toMatchObject({ accounts: 1, api_keys: 2, active_keys: 2, links: 45, notifier_inbox: TEST_SHARD_COUNT, notifier_recipients: TEST_SHARD_COUNT, notifier_categories: 1, idempotency_keys: 1 });
  }, 60_000);
  afterAll(async () => {
    cli?.close();
    await drop();
  });

  const steps = ['revoke-keys', 'quiesce', 'delete-links-s0', 'delete-links-s1', 'delete-links-s2', 'delete-notifier-data', 'delete-idempotency-keys', 'delete-account'];
  it('has the steps this test kills at', async () => {
    expect(await withC(async (c) => c.sagas.runner.stepNames('delete-account'))).toEqual(steps);
  });

  for (const [i, step] of steps.entries()) {
    it(`killed after ${step}'s effect, before its record: the same command finishes; everything of the account gone, nothing of another`, async () => {
      const name = `victim${i}`;
      const id = await makeAccount(name);
      await killedAt(cli, `saga:delete-account:${step}:after`, ['accounts', 'delete', name]);
      const again = await cli.run('accounts', 'delete', name);
      expect(again.error).toBeUndefined();
      expect(again.out).toContain(`continuing to delete account ${name} (run delete-account:${id})`);
      expect(again.out).toContain(`delete-account:${id}  delete-account  done`);
      const after = await withC(async (c) => ({ victim: await owned(c, id), other: await owned(c, other.id), unfinished: await c.sagas.runner.unfinished() }));
      expect(after).toEqual({ victim: NOTHING, other: other.owned, unfinished: [] });
    }, 60_000);
  }

  it('an unfinished import into the account: the deletion fails and gives the keys back (killed while doing so, too); after the import, it deletes', async () => {
    const name = 'importing';
    const id = await makeAccount(name);
    const f = importFile(cli.dir, 'importing-more.csv', 'more', 30);
    await killedAt(cli, 'saga:import-links:insert-s1:after', ['links', 'import', f.path, '--account', name]);
    const linksBefore = (await withC((c) => owned(c, id))).links;
    expect(linksBefore).toBeGreaterThan(45);
    expect(linksBefore).toBeLessThan(75);
    // quiesce fails for good → compensating → killed right after the keys are restored.
    await killedAt(cli, 'saga:delete-account:compensate:revoke-keys:after', ['accounts', 'delete', name]);
    expect(await withC((c) => owned(c, id))).toMatchObject({ api_keys: 2, active_keys: 2 });
    const resumed = await cli.run('sagas', 'resume', `delete-account:${id}`);
    expect(resumed.out).toContain(`delete-account:${id}  delete-account  failed  (quiesce: PermanentError: import run import:${id}:`);
    const failed = await withC((c) => owned(c, id));
    expect(failed).toMatchObject({ accounts: 1, api_keys: 2, active_keys: 2, links: linksBefore });
    // The import is finished, then deleting again is a new run that goes through.
    expect((await cli.run('sagas', 'resume')).error).toBeUndefined();
    expect(await withC((c) => owned(c, id))).toMatchObject({ links: 75 });
    const deleted = await cli.run('accounts', 'delete', name);
    expect(deleted.out).toContain(`deleting account ${name} (run delete-account:${id}:2)`);
    expect(await withC((c) => owned(c, id))).toEqual(NOTHING);
    expect(await withC((c) => owned(c, other.id))).toEqual(other.owned);
  }, 90_000);

  it('an unfinished deletion of the account: an import into it fails for good and leaves no link; the deletion then finishes', async () => {
    const name = 'deleting';
    const id = await makeAccount(name);
    await killedAt(cli, 'saga:delete-account:quiesce:after', ['accounts', 'delete', name]);
    const f = importFile(cli.dir, 'deleting-more.csv', 'late', 20);
    const refused = await cli.run('links', 'import', f.path, '--account', name);
    expect(refused.error).toMatchObject({ code: 'IMPORT_FAILED' });
    expect(String((refused.error as Error).message)).toContain(`account "${name}": its deletion (run delete-account:${id}) is unfinished`);
    expect(await withC((c) => owned(c, id))).toMatchObject({ links: 45 });
    expect((await cli.run('accounts', 'delete', name)).error).toBeUndefined();
    expect(await withC((c) => owned(c, id))).toEqual(NOTHING);
    expect(await withC((c) => owned(c, other.id))).toEqual(other.owned);
  }, 60_000);

  it('refuses admin accounts and unknown ones; deleting a deleted account reports its run', async () => {
    const admin = await cli.run('accounts', 'delete', 'admin');
    expect((admin.error as { code?: string }).code).toBe('ACCOUNT_NOT_DELETABLE');
    const unknown = await cli.run('accounts', 'delete', 'nobody');
    expect((unknown.error as { code?: string }).code).toBe('ACCOUNT_NOT_FOUND');
    const id = await makeAccount('twice');
    expect((await cli.run('accounts', 'delete', 'twice')).error).toBeUndefined();
    const again = await cli.run('accounts', 'delete', '--id', String(id));
    expect(again.out).toContain(`account ${id} was deleted already (run delete-account:${id})`);
  }, 60_000);
});

import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, type PostgresHandle } from '../../src/adapters/postgres/open-postgres.js';
import { ReplicaRoutedLinkRepository } from '../../src/adapters/replicas/replica-routed-links.js';
import { KyselyLinkRepository } from '../../src/adapters/sql/kysely-link-repository.js';
import { migrateToLatest } from '../../src/adapters/sql/migrations.js';
import type { Database } from '../../src/adapters/sql/schema.js';
import { FakeClock } from '../../src/platform/clock.js';
import { newLink } from '../helpers/new-link.js';
import { startReplicatedPair, type ReplicatedPair } from '../helpers/pg-replica.js';
import { freePort } from '../helpers/tny-process.js';

/**
 * Read/write splitting against a REAL streaming replica: a throwaway primary and a hot standby
 * made with pg_basebackup (test/helpers/pg-replica.ts). Replication lag is made on purpose by
 * pausing WAL replay on the standby, so "the replica is behind" is a state, not a race.
 */
describe('replica routing for links (PostgreSQL primary + streaming replica)', () => {
  let pair: ReplicatedPair;
  let primaryDb: PostgresHandle;
  let replicaDb: PostgresHandle;
  let primary: KyselyLinkRepository;
  let replica: KyselyLinkRepository;
  const clock = new FakeClock(Date.UTC(2026, 10, 28));
  const router = () => new ReplicaRoutedLinkRepository(primary, [replica], { lagBoundMs: 5000, clock });

  /** Waits until the standby has replayed everything the primary committed so far. */
  async function caughtUp(): Promise<void> {
    pair.pauseReplay(false);
    const lsn = (await sql<{ l: string }>`select pg_current_wal_insert_lsn()::text as l`.execute(primaryDb.db)).rows[0]!.l;
    for (let i = 0; i < 200; i++) {
      const r = await sql<{ ok: boolean }>`select pg_last_wal_replay_lsn() >= ${lsn}::pg_lsn as ok`.execute(replicaDb.db);
      if (r.rows[0]?.ok) return;
      await new Promise((res) => setTimeout(res, 10));
    }
    throw new Error('the replica did not catch up');
  }

  beforeAll(async () => {
    pair = await startReplicatedPair();
    primaryDb = await openPostgres(pair.primaryUrl, { poolSize: 4 });
    await migrateToLatest(primaryDb.db, 'postgres');
    await primaryDb.db.insertInto('accounts').values([{ id: 1, name: 'a', is_admin: 0, created_at: 0 }, { id: 2, name: 'b', is_admin: 0, created_at: 0 }]).execute();
    replicaDb = await openPostgres(pair.replicaUrl, { poolSize: 4 });
    primary = new KyselyLinkRepository(primaryDb.db, 'postgres');
    replica = new KyselyLinkRepository(replicaDb.db, 'postgres');
    await caughtUp();
  }, 60_000);
  afterAll(async () => {
    await replicaDb?.close();
    await primaryDb?.close();
    pair?.stop();
  });

  it('the standby is a real hot standby: read-only, and behind while replay is paused', async () => {
    await expect(sql`create table nope(x int)`.execute(replicaDb.db)).rejects.toThrow(/read-only/);
    pair.pauseReplay(true);
    await primary.insert(newLink('lagging'));
    expect(await replica.findByKey('lagging')).toBeUndefined();
    await caughtUp();
    expect((await replica.findByKey('lagging'))?.key).toBe('lagging');
  });

  it('reads a settled key from the replica', async () => {
    await primary.insert(newLink('settled'));
    await caughtUp();
    const r = router();
    expect((await r.findByKey('settled'))?.url).toBe('https://example.com/settled');
    expect(r.stats).toMatchObject({ replicaReads: 1, primaryReads: 0, missRetries: 0 });
  });

  it('read-your-writes: a link created through the router is found at once, while the replica is behind', async () => {
    const r = router();
    pair.pauseReplay(true);
    await r.insert(newLink('mine'));
    expect((await r.findByKey('mine'))?.key).toBe('mine');
    expect(r.stats.replicaReads).toBe(0);
    // The account's list after its write, too.
    expect((await r.list({ accountId: 1, sort: 'created_at', order: 'desc', limit: 50 })).items.map((l) => l.key)).toContain('mine');
    // Past the lag bound the key is read from the replica again.
    await caughtUp();
    clock.advance(5001);
    expect((await r.findByKey('mine'))?.key).toBe('mine');
    expect(r.stats.replicaReads).toBe(1);
  });

  it('a miss on the replica (a key another process created a moment ago) is retried on the primary', async () => {
    const r = router();
    pair.pauseReplay(true);
    await primary.insert(newLink('elsewhere'));
    expect((await r.findByKey('elsewhere'))?.key).toBe('elsewhere');
    expect(r.stats.missRetries).toBe(1);
    expect(await r.findByKey('never-made')).toBeUndefined();
    await caughtUp();
  });

  it('an edit made elsewhere is stale on the replica until announced by noteWrite (the cache invalidation calls it)', async () => {
    await primary.insert(newLink('edited'));
    await caughtUp();
    const r = router();
    pair.pauseReplay(true);
    await primary.update('edited', { url: 'https://example.com/new', updatedAt: Date.now() });
    expect((await r.findByKey('edited'))?.url).toBe('https://example.com/edited');
    r.noteWrite('edited', 1);
    expect((await r.findByKey('edited'))?.url).toBe('https://example.com/new');
    // Another account's list still goes to the replica.
    const before = r.stats.replicaReads;
    await r.list({ accountId: 2, sort: 'created_at', order: 'desc', limit: 10 });
    expect(r.stats.replicaReads).toBe(before + 1);
    await caughtUp();
  });

  it('a replica that fails is skipped and its reads go to the primary', async () => {
    // A replica nobody answers on: every query fails to connect.
    const broken = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/x`, connectionTimeoutMillis: 2000 }) }) });
    const errors: unknown[] = [];
    const r = new ReplicaRoutedLinkRepository(primary, [new KyselyLinkRepository(broken, 'postgres')], { lagBoundMs: 5000, clock, onReplicaError: (e) => errors.push(e) });
    expect((await r.findByKey('settled'))?.key).toBe('settled');
    expect(errors).toHaveLength(1);
    expect(await r.findByKey('settled')).toBeDefined();
    expect(errors).toHaveLength(1); // skipped while down
    expect(r.stats).toMatchObject({ replicaErrors: 1, primaryReads: 2 });
    await broken.destroy();
  });
});

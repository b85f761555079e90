import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, type PostgresHandle } from '../../src/adapters/postgres/open-postgres.js';
import { KyselyLinkRepository } from '../../src/adapters/sql/kysely-link-repository.js';
import { loadConfig } from '../../src/config/config.js';
import { createContainer } from '../../src/main/container.js';
import { createLogger } from '../../src/main/logger.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { newLink } from '../helpers/new-link.js';
import { startReplicatedPair, type ReplicatedPair } from '../helpers/pg-replica.js';
import { freePort } from '../helpers/tny-process.js';

/**
 * DATABASE_REPLICAS wired through the app, against a real streaming replica (throwaway primary
 * + hot standby, test/helpers/pg-replica.ts): redirects read the replica, a write is read back
 * from the primary while the replica is behind, start-up refuses bad or unreachable replicas.
 */
describe('DATABASE_REPLICAS: the app over a primary and a streaming replica', () => {
  let pair: ReplicatedPair;
  let t: TestApp;
  let primary: PostgresHandle;
  let replica: PostgresHandle;
  const caughtUp = async () => {
    pair.pauseReplay(false);
    const lsn = (await sql<{ l: string }>`select pg_current_wal_insert_lsn()::text as l`.execute(primary.db)).rows[0]!.l;
    for (let i = 0; i < 300; i++) {
      if ((await sql<{ ok: boolean }>`select pg_last_wal_replay_lsn() >= ${lsn}::pg_lsn as ok`.execute(replica.db)).rows[0]?.ok) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('the replica did not catch up');
  };

  beforeAll(async () => {
    pair = await startReplicatedPair();
    t = await makeTestApp({ DATABASE_URL: pair.primaryUrl, DATABASE_REPLICAS: pair.replicaUrl, DATABASE_REPLICA_LAG_MS: '300', CACHE_MAX_ENTRIES: '1', NEGATIVE_CACHE_TTL_SECONDS: '0' });
    primary = await openPostgres(pair.primaryUrl, { poolSize: 2 });
    replica = await openPostgres(pair.replicaUrl, { poolSize: 2 });
    await caughtUp();
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await primary?.close();
    await replica?.close();
    pair?.stop();
  });

  const resolve = async (key: string) => (await t.app.inject({ method: 'GET', url: `/${key}` })).statusCode;

  it('a link created through the API redirects at once, although the replica is paused behind it', async () => {
    pair.pauseReplay(true);
    const res = await t.call('POST', '/api/v1/links', { key: t.adminKey, body: { url: 'https://example.com/fresh', alias: 'fresh-one' } });
    expect(res.statusCode).toBe(201);
    expect(await resolve('fresh-one')).toBe(301); // the API's default status
    // Written by another process (straight into the primary): a replica miss, retried on the primary.
    const accountId = Number((await primary.db.selectFrom('accounts').select('id').executeTakeFirstOrThrow()).id);
    await new KyselyLinkRepository(primary.db, 'postgres').insert(newLink('from-elsewhere', { accountId }));
    expect(await resolve('from-elsewhere')).toBe(302); // newLink's status
    await caughtUp();
  });

  it('redirects of settled links are read from the replica: behind it, they show what it has; an edit through the API shows at once', async () => {
    const keys = Array.from({ length: 5 }, (_, i) => `settled-${i}`);
    const accountId = Number((await primary.db.selectFrom('accounts').select('id').executeTakeFirstOrThrow()).id);
    await new KyselyLinkRepository(primary.db, 'postgres').insertMany(keys.map((k) => newLink(k, { accountId })));
    await caughtUp();
    await new Promise((r) => setTimeout(r, 350)); // past the lag bound of their creation
    pair.pauseReplay(true);
    // Changed by "another process" straight on the primary: the replica does not have it yet.
    await primary.db.updateTable('short_urls').set({ original_url: 'https://example.com/changed' }).where('short_key', 'in', keys).execute();
    const location = async (key: string) => (await t.app.inject({ method: 'GET', url: `/${key}` })).headers.location;
    for (const k of keys) expect(await location(k)).toBe(`https://example.com/${k}`);
    // An edit through the API is read back from the primary (read-your-writes).
    const edited = await t.call('PATCH', '/api/v1/links/settled-0', { key: t.adminKey, body: { url: 'https://example.com/edited' } });
    expect(edited.statusCode).toBe(200);
    expect(await location('settled-0')).toBe('https://example.com/edited');
    expect(await location('settled-1')).toBe('https://example.com/settled-1');
    await caughtUp();
    await new Promise((r) => setTimeout(r, 350));
    // Caught up, the replica has the change (settled-2: not the one key the 1-entry L1 holds).
    expect(await location('settled-2')).toBe('https://example.com/changed');
  });

  it('/health/detailed reports the replica', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/detailed' });
    expect(res.body).toContain('database:primary:replica1');
  });

  it('refuses replicas on SQLite, more groups than databases, and an unreachable replica (named)', async () => {
    const start = (env: Record<string, string>) => createContainer(loadConfig({ DATA_DIR: '/tmp/tny-replicas-refused', LOG_LEVEL: 'silent', ...env }), createLogger('silent'));
    await expect(start({ DATABASE_REPLICAS: 'postgres://127.0.0.1/x' })).rejects.toThrow(/DATABASE_REPLICAS: replicas are PostgreSQL/);
    await expect(start({ DATABASE_URL: pair.primaryUrl, DATABASE_REPLICAS: `${pair.replicaUrl};${pair.replicaUrl}` })).rejects.toThrow(/2 groups .* for 1 database/);
    const dead = `postgres://postgres:secret@127.0.0.1:${await freePort()}/x`;
    await expect(start({ DATABASE_URL: pair.primaryUrl, DATABASE_REPLICAS: dead })).rejects.toThrow(/replica 1 of primary .* is unreachable/);
    await expect(start({ DATABASE_URL: pair.primaryUrl, DATABASE_REPLICAS: dead })).rejects.not.toThrow(/secret/);
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { loadConfig } from '../../src/config/config.js';
import { buildApp } from '../../src/http/app.js';
import { createContainer, type Container } from '../../src/main/container.js';
import { createLogger } from '../../src/main/logger.js';
import { createKey, ensureAdminKey } from '../../src/platform/auth/manage-keys.js';
import { FakeClock, systemClock, type Clock } from '../../src/platform/clock.js';
import { createTestDatabases, type EmptiedDatabases } from './databases.js';

export const TEST_BASE_URL = 'http://tny.test';

/**
 * Set (before importing an HTTP suite) by files that rerun it on sharded PostgreSQL:
 * makeTestApp then gives each app `shards` PostgreSQL databases as DATABASE_SHARDS, emptied
 * for it (test/sharding/*-on-shards.test.ts), made once per file; such a file calls
 * `dropTestShards()` after all. 0: the suite's own database (SQLite by default).
 */
export const testStorage = { shards: 0 };
let testShards: Promise<EmptiedDatabases> | undefined;

/** Drops the databases makeTestApp made for testStorage.shards. */
export async function dropTestShards(): Promise<void> {
  const made = await testShards;
  testShards = undefined;
  await made?.drop();
}

export interface TestApp {
  app: FastifyInstance;
  container: Container;
  adminKey: string;
  clock: Clock;
  /** A new non-admin account with one key; returns the key. */
  newAccountKey(name: string): Promise<string>;
  /** JSON request helper; `key` sets Authorization: Bearer. */
  call(method: string, url: string, opts?: { key?: string; body?: unknown; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/**
 * A real app on a fresh SQLite file with generous limits unless `env` says otherwise.
 * `clock: 'fake'` gives a FakeClock (advance it to test expiry and windows).
 */
export async function makeTestApp(env: Record<string, string> = {}, opts: { clock?: 'fake' | 'system' } = {}): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'tny-app-'));
  const shardUrl = process.env.DATABASE_URL_TEST;
  if (testStorage.shards > 0 && !shardUrl) throw new Error('sharded HTTP suites need DATABASE_URL_TEST');
  if (testStorage.shards > 0 && !env.DATABASE_URL && !env.DATABASE_SHARDS) {
    // One app at a time per file (the suites open them in beforeAll, one describe after another).
    const made = await (testShards ??= createTestDatabases(shardUrl!, testStorage.shards));
    await made.empty();
    env = { ...env, DATABASE_SHARDS: made.urls.join(','), DATABASE_POOL_SIZE: '4' };
  }
  const config = loadConfig({
    DATA_DIR: dir,
    BASE_URL: TEST_BASE_URL,
    LOG_LEVEL: 'silent',
    RATE_LIMIT_WRITE_BURST: '100000',
    RATE_LIMIT_WRITE_PER_SECOND: '100000',
    CLICK_FLUSH_INTERVAL_MS: '60000',
    ...env,
  });
  const clock = opts.clock === 'fake' ? new FakeClock(Date.UTC(2026, 5, 1, 12)) : systemClock;
  const container = await createContainer(config, createLogger('silent'), clock);
  const adminKey = (await ensureAdminKey(container.accounts, clock.now()))!;
  const app = await buildApp(container);
  await app.ready();
  return {
    app,
    container,
    adminKey,
    clock,
    async newAccountKey(name) {
      return (await createKey(container.accounts, { name }, clock.now())).token;
    },
    call(method, url, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.key) headers.authorization = `Bearer ${o.key}`;
      return app.inject({
        method: method as 'GET',
        url,
        headers,
        ...(o.body !== undefined ? { payload: o.body as object } : {}),
      });
    },
    async close() {
      await app.close();
      await container.lifecycle.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { queueFor } from '../../src/notifier/notifications/ids.js';
import { startRecordingServer, type RecordingServer } from '../channels/recording-server.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { describeWithRedis } from '../helpers/redis.js';

const N = 1000;
const KILLS = 4;
/** Deliveries in flight in the worker: each kill can strand (and so duplicate) at most this many. */
const IN_FLIGHT = 4;
const WORKER = new URL('./bullmq-crash-worker.ts', import.meta.url).pathname;
const adminUrl = process.env.DATABASE_URL_TEST;

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * The crash test of test/notifier/crash.test.ts in scale-out mode: notifications accepted by
 * this process (NOTIFY_WORKERS=0) on PostgreSQL are queued in BullMQ on Redis and delivered by a
 * separate worker process (QUEUE=bullmq), which is SIGKILLed at random points and restarted.
 * Every accepted notification must reach the webhook receiver; duplicates (same webhook-id
 * twice) must not exceed kills × deliveries in flight: a killed worker's leased job comes
 * back when its lease (NOTIFY_LEASE_MS) expires, and the ledger's claim stops a second send of
 * anything already marked sent.
 */
describeWithRedis('crash: kill -9 the BullMQ delivery worker (PostgreSQL) while notifications flow', (redisUrl) => {
  if (!adminUrl) {
    it('has a PostgreSQL to run against', () => {
      if (process.env.TNY_REQUIRE_SERVICES === '1') throw new Error('DATABASE_URL_TEST is not set but TNY_REQUIRE_SERVICES=1');
    });
    return;
  }
  const dbName = `tny_bullcrash_${randomBytes(5).toString('hex')}`;
  const prefix = `tnytest-${randomBytes(6).toString('hex')}`;
  let databaseUrl: string;
  let t: TestApp;
  let hook: RecordingServer;
  let child: ChildProcess | undefined;

  const startWorker = async (): Promise<ChildProcess> => {
    const proc = spawn(process.execPath, ['--import', 'tsx', WORKER, databaseUrl, redisUrl, prefix, String(IN_FLIGHT)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      proc.stdout!.on('data', (b: Buffer) => b.toString().includes('ready') && resolve());
      proc.on('exit', (code) => reject(new Error(`worker exited early (${code})`)));
    });
    return proc;
  };
  const kill9 = (proc: ChildProcess) =>
    new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });

  beforeAll(async () => {
    hook = await startRecordingServer();
    await admin((c) => c.query(`CREATE DATABASE ${dbName}`));
    const url = new URL(adminUrl);
    url.pathname = `/${dbName}`;
    databaseUrl = url.toString();
    t = await makeTestApp({ DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, QUEUE: 'bullmq', QUEUE_REDIS_PREFIX: prefix, NOTIFY_WORKERS: '0' });
  });
  afterAll(async () => {
    if (child && child.exitCode === null) await kill9(child);
    await t?.close();
    await hook?.close();
    const redis = new Redis(redisUrl);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await redis.quit();
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`));
  });

  it(`${N} notifications, ${KILLS} kills: all delivered, duplicates ≤ kills × ${IN_FLIGHT} in flight`, async () => {
    const key = await t.newAccountKey('crash');
    for (const [method, url, body] of [
      ['POST', '/api/v1/recipients', { id: 'c', contacts: [{ kind: 'webhook', address: `${hook.url}/c` }] }],
      ['POST', '/api/v1/categories', { name: 'load', default_channels: ['webhook'] }],
      ['PUT', '/api/v1/templates/t/webhook/en', { body: 'n={{ n }}' }],
    ] as const) {
      expect((await t.call(method, url, { key, body })).statusCode).toBeLessThan(300);
    }
    const started = Date.now();
    let accepted = 0;
    child = await startWorker();
    let kills = 0;
    const killer = (async () => {
      while (kills < KILLS) {
        await new Promise((r) => setTimeout(r, 300 + Math.random() * 700));
        await kill9(child!);
        kills += 1;
        child = await startWorker();
      }
    })();
    for (let b = 0; b < N / 250; b++) {
      const res = await t.call('POST', '/api/v1/notifications/batch', {
        key,
        body: { notifications: Array.from({ length: 250 }, (_, i) => ({ recipient: 'c', category: 'load', template: 't', data: { n: b * 250 + i } })) },
      });
      expect(res.statusCode).toBe(202);
      accepted += JSON.parse(res.body).data.accepted;
    }
    await killer;
    const ids = () => new Set(hook.requests.map((r) => String(r.headers['webhook-id'])));
    const sentRows = async () =>
      Number(
        (await t.container.database.db
          .selectFrom('notifier_deliveries')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('status', '=', 'sent')
          .executeTakeFirstOrThrow()).n,
      );
    const deadline = Date.now() + 45_000;
    while ((ids().size < accepted || (await sentRows()) < accepted) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const unique = ids().size;
    const duplicates = hook.requests.length - unique;
    console.log(`bullmq crash test: accepted ${accepted}, delivered ${unique} distinct, ${hook.requests.length} requests, ${duplicates} duplicates, ${kills} kills, ${Date.now() - started} ms`);
    expect(accepted).toBe(N);
    expect(unique).toBe(N);
    expect(duplicates).toBeLessThanOrEqual(kills * IN_FLIGHT);
    expect(await sentRows()).toBe(N);
    // Nothing left behind in BullMQ: every job acked, none dead.
    const queue = t.container.notifications!.queue;
    const settled = Date.now() + 10_000;
    while ((await queue.stats(queueFor('webhook'))).leased > 0 && Date.now() < settled) await new Promise((r) => setTimeout(r, 100));
    expect(await queue.stats(queueFor('webhook'))).toEqual({ ready: 0, delayed: 0, leased: 0, dead: 0 });
  }, 90_000);
});

import { randomBytes } from 'node:crypto';
import { Queue as BullQueue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createContainer } from '../../src/main/container.js';
import { createLogger } from '../../src/main/logger.js';
import { queueFor } from '../../src/notifier/notifications/ids.js';
import { BullmqQueue } from '../../src/adapters/bullmq/bullmq-queue.js';
import { startRecordingServer, type RecordingServer } from '../channels/recording-server.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { describeWithRedis } from '../helpers/redis.js';
import { expectData, expectError } from '../http/support.js';

/**
 * The notifications API in scale-out mode: PostgreSQL (a database made for this file) and the
 * BullMQ queue on Redis (QUEUE=bullmq, a key prefix of its own). Two apps share them, as two
 * processes would: `api` accepts (NOTIFY_WORKERS=0) and `worker` delivers to a local webhook
 * receiver, so every delivery crosses from one queue client to the other through Redis.
 */
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

it('QUEUE=bullmq without REDIS_URL fails at start, naming both', async () => {
  const config = loadConfig({ QUEUE: 'bullmq', DATA_DIR: '/nonexistent-never-opened', LOG_LEVEL: 'silent' });
  await expect(createContainer(config, createLogger('silent'))).rejects.toThrow(/QUEUE=bullmq needs REDIS_URL/);
});

describeWithRedis('notifications API on PostgreSQL + BullMQ', (redisUrl) => {
  if (!adminUrl) {
    it('has a PostgreSQL to run against', () => {
      if (process.env.TNY_REQUIRE_SERVICES === '1') throw new Error('DATABASE_URL_TEST is not set but TNY_REQUIRE_SERVICES=1');
    });
    return;
  }
  const dbName = `tny_bullmq_${randomBytes(5).toString('hex')}`;
  const prefix = `tnytest-${randomBytes(6).toString('hex')}`;
  let api: TestApp;
  let worker: TestApp | undefined;
  let key: string;
  let hook: RecordingServer;
  let env: Record<string, string>;

  async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 8000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const send = (body: Record<string, unknown>, headers: Record<string, string> = {}) => api.call('POST', '/api/v1/notifications', { key, body, headers });
  const statusIs = (id: string, channel: string, status: string) => async () => {
    const d = expectData(await api.call('GET', `/api/v1/notifications/${id}`, { key }));
    const c = (d.channels as any[]).find((x) => x.channel === channel);
    return c?.status === status ? c : undefined;
  };
  const webhookQueue = queueFor('webhook');

  beforeAll(async () => {
    hook = await startRecordingServer();
    await admin((c) => c.query(`CREATE DATABASE ${dbName}`));
    const url = new URL(adminUrl);
    url.pathname = `/${dbName}`;
    env = {
      DATABASE_URL: url.toString(),
      REDIS_URL: redisUrl,
      QUEUE: 'bullmq',
      QUEUE_REDIS_PREFIX: prefix,
      NOTIFY_WEBHOOK_SECRET: 'whsec_c2VjcmV0',
      NOTIFY_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
      NOTIFY_MAX_ATTEMPTS: '3',
      NOTIFY_RETRY_BASE_MS: '20',
    };
    api = await makeTestApp({ ...env, NOTIFY_WORKERS: '0' });
    key = await api.newAccountKey('sender');
    const setup: [string, string, unknown][] = [
      ['POST', '/api/v1/recipients', { id: 'ada', contacts: [{ kind: 'webhook', address: `${hook.url}/hooks/ada` }] }],
      ['POST', '/api/v1/recipients', { id: 'bob', contacts: [{ kind: 'webhook', address: `${hook.url}/hooks/bob` }] }],
      ['POST', '/api/v1/categories', { name: 'security', default_channels: ['webhook'] }],
      ['PUT', '/api/v1/templates/alert/webhook/en', { subject: 'Alert', body: 'Hi {{ name }}' }],
    ];
    for (const [method, path, body] of setup) {
      const res = await api.call(method, path, { key, body });
      expect(res.statusCode, `${method} ${path}: ${res.body}`).toBeLessThan(300);
    }
  });

  afterAll(async () => {
    await worker?.close();
    await api?.close();
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

  it('queues in BullMQ by priority: a high send is leased before the low ones accepted earlier', async () => {
    const low: string[] = [];
    for (let i = 0; i < 20; i++) {
      low.push(expectData(await send({ recipient: 'ada', category: 'security', template: 'alert', data: { name: `low${i}` }, priority: 'low' }), 202).id);
    }
    const high = expectData(await send({ recipient: 'ada', category: 'security', template: 'alert', data: { name: 'high' }, priority: 'high' }), 202).id;
    const queue = api.container.notifications!.queue;
    expect(queue).toBeInstanceOf(BullmqQueue);
    // They are BullMQ jobs: BullMQ's own client counts them in its prioritized set.
    const bull = new BullQueue(webhookQueue, { connection: { url: redisUrl }, prefix });
    expect(await bull.getPrioritizedCount()).toBe(21);
    await bull.close();
    const leased = await queue.lease<{ deliveryId: string }>(webhookQueue, { max: 21, visibilityMs: 60_000 });
    expect(leased.map((j) => j.payload.deliveryId)).toEqual([high, ...low].map((id) => `${id}.webhook`));
    // Hand them back at once for the worker of the next test.
    for (const job of leased) await queue.nack(job, { delayMs: 0 });
    expect(await queue.stats(webhookQueue)).toEqual({ ready: 21, delayed: 0, leased: 0, dead: 0 });
  });

  it('a worker process (another app on the same PostgreSQL and Redis) delivers them, high first', async () => {
    worker = await makeTestApp({ ...env, NOTIFY_WORKERS: '1' });
    await until('21 webhooks', async () => (hook.requests.length >= 21 ? true : undefined));
    const names = hook.requests.map((r) => JSON.parse(r.body.toString()).data?.name ?? r.body.toString());
    expect(JSON.stringify(names[0])).toContain('high');
    expect(hook.requests.length).toBe(21);
    // The last job is acked just after its webhook answered.
    const queue = api.container.notifications!.queue;
    await until('queue empty', async () => ((await queue.stats(webhookQueue)).leased === 0 ? true : undefined));
    expect(await queue.stats(webhookQueue)).toEqual({ ready: 0, delayed: 0, leased: 0, dead: 0 });
  });

  it('accepts with 202 and the worker delivers it once, with the delivery id as webhook-id', async () => {
    const d = expectData(await send({ recipient: 'ada', category: 'security', template: 'alert', data: { name: 'Ada' } }), 202);
    const sent = await until('webhook sent', statusIs(d.id, 'webhook', 'sent'));
    expect(sent.attempts).toBe(1);
    expect(sent.log.map((e: any) => e.event)).toEqual(['queued', 'claimed', 'sent']);
    expect(hook.requests.filter((r) => r.headers['webhook-id'] === `${d.id}.webhook`)).toHaveLength(1);
  });

  it('replays the first answer for the same Idempotency-Key and sends once', async () => {
    const body = { recipient: 'ada', category: 'security', template: 'alert', data: { name: 'Once' } };
    const first = expectData(await send(body, { 'idempotency-key': 'k-1' }), 202);
    const again = await send(body, { 'idempotency-key': 'k-1' });
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(expectData(again, 202)).toEqual(first);
    expectError(await send({ ...body, data: { name: 'Twice' } }, { 'idempotency-key': 'k-1' }), 422, 'IDEMPOTENCY_KEY_REUSED');
    await until('sent', statusIs(first.id, 'webhook', 'sent'));
    await new Promise((r) => setTimeout(r, 150));
    expect(hook.requests.filter((r) => r.headers['webhook-id'] === `${first.id}.webhook`)).toHaveLength(1);
  });

  it('dead-letters after the last attempt (a BullMQ failed job), and sends it after a retry from the API', async () => {
    hook.fallback = (req) => (req.path === '/hooks/bob' ? { status: 503 } : { status: 200 });
    const d = expectData(await send({ recipient: 'bob', category: 'security', template: 'alert', data: { name: 'dlq' } }), 202);
    const dead = await until('dead', statusIs(d.id, 'webhook', 'dead'));
    expect(dead.attempts).toBe(3);
    expect(dead.last_error).toContain('503');
    expect(hook.requests.filter((r) => r.headers['webhook-id'] === `${d.id}.webhook`)).toHaveLength(3);
    const queue = api.container.notifications!.queue;
    await until('job dead in the queue', async () => ((await queue.countDead(webhookQueue)) === 1 ? true : undefined));
    const bull = new BullQueue(webhookQueue, { connection: { url: redisUrl }, prefix });
    const [failed] = await bull.getFailed();
    expect(failed?.data).toEqual({ deliveryId: `${d.id}.webhook` });
    expect(failed?.failedReason).toContain('503');
    await bull.close();
    const deadList = expectData<any[]>(await api.call('GET', '/api/v1/deliveries?status=dead', { key }));
    expect(deadList.map((x) => x.id)).toContain(`${d.id}.webhook`);
    hook.fallback = () => ({ status: 200 });
    expectData(await api.call('POST', `/api/v1/deliveries/${d.id}.webhook/retry`, { key }));
    const sent = await until('sent after retry', statusIs(d.id, 'webhook', 'sent'));
    expect(sent.log.map((e: any) => e.event)).toContain('retried by API');
    expect(await queue.countDead(webhookQueue)).toBe(0);
    expect(hook.requests.filter((r) => r.headers['webhook-id'] === `${d.id}.webhook`)).toHaveLength(4);
  });
});

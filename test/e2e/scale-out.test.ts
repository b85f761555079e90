import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashRing } from '../../src/platform/hashing/hash-ring.js';
import { startRecordingServer, type RecordingServer } from '../channels/recording-server.js';
import { assertBuilt, freePort, killAll, spawnTny, type TnyProcess } from '../helpers/tny-process.js';

/**
 * The proof, with real processes: 2 api processes and 1 worker on three PostgreSQL
 * databases as shards (DATABASE_SHARDS) and Redis (L2 cache, click counters, BullMQ, in-app
 * pub/sub), as an operator would run them behind a load balancer.
 * PostgreSQL: throwaway databases on DATABASE_URL_TEST's server; Redis: REDIS_URL_TEST under a
 * random prefix.
 */
const TOKEN = /tny_[0-9A-Za-z]{12}_[0-9A-Za-z]{32}/;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Recipients of the notification tests: their data spreads over the shards by `${account}:${id}`. */
const RECIPIENTS = ['ada', 'bob', 'cy', 'dee', 'eve', 'fay', 'gus', 'hal'];

interface Served extends TnyProcess {
  baseUrl: string;
  port: number;
}

const pgServer = process.env.DATABASE_URL_TEST;
const redisUrl = process.env.REDIS_URL_TEST;
const required = process.env.TNY_REQUIRE_SERVICES === '1';

describe.runIf(Boolean(pgServer && redisUrl) || required)('scale-out: 2 api processes + 1 worker on 3 PostgreSQL shards and Redis (real processes)', () => {
  const run = randomBytes(4).toString('hex');
  const dbNames = [0, 1, 2].map((i) => `tny_e2e_${run}_s${i}`);
  let hook: RecordingServer;
  const prefix = `tnytest:${randomBytes(4).toString('hex')}:`;
  let env: Record<string, string>;
  let api1: Served;
  let api2: Served;
  let worker: Served;
  let key: string;
  const shardUrl = (name: string) => {
    const url = new URL(pgServer!);
    url.pathname = `/${name}`;
    return url.toString();
  };

  async function serve(role: string, port?: number): Promise<Served> {
    const p = port ?? (await freePort());
    const baseUrl = `http://127.0.0.1:${p}`;
    const proc = spawnTny(['serve', '--role', role], { ...env, HOST: '127.0.0.1', PORT: String(p), BASE_URL: baseUrl });
    let exited = false;
    void proc.exited.then(() => (exited = true));
    for (const deadline = Date.now() + 20_000; ; ) {
      if (exited) throw new Error(`tny serve --role ${role} exited:\n${proc.stdout()}\n${proc.stderr()}`);
      if (await fetch(`${baseUrl}/health`).then((r) => r.ok, () => false)) return { ...proc, baseUrl, port: p };
      if (Date.now() > deadline) throw new Error(`tny serve --role ${role} did not answer /health:\n${proc.stderr()}`);
      await sleep(25);
    }
  }
  const call = async (server: Served, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as { data?: any; error?: any }) : {} };
  };
  const resolve = (server: Served, k: string) => fetch(`${server.baseUrl}/${k}`, { redirect: 'manual' }).then((r) => ({ status: r.status, location: r.headers.get('location') }));

  beforeAll(async () => {
    if (!pgServer || !redisUrl) throw new Error('DATABASE_URL_TEST and REDIS_URL_TEST are required (TNY_REQUIRE_SERVICES=1)');
    assertBuilt();
    const admin = new pg.Client({ connectionString: pgServer });
    await admin.connect();
    for (const name of dbNames) await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    hook = await startRecordingServer();
    env = {
      DATABASE_SHARDS: dbNames.map(shardUrl).join(','),
      NOTIFY_WEBHOOK_SECRET: 'whsec_c2VjcmV0',
      NOTIFY_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
      NOTIFY_RETRY_BASE_MS: '50',
      NOTIFY_LEASE_MS: '3000',
      NOTIFY_WORKERS: '4',
      CLICK_REDIS_LEASE_TTL_MS: '1000',
      INBOX_REDIS_PREFIX: prefix,
      REDIS_URL: redisUrl,
      CACHE_REDIS_PREFIX: `${prefix}cache:`,
      CLICK_COUNTER: 'redis',
      QUEUE: 'bullmq',
      QUEUE_REDIS_PREFIX: `${prefix}q`,
      CLICK_REDIS_PREFIX: `{${prefix}clicks}:`,
      CLICK_FLUSH_INTERVAL_MS: '200',
      RATE_LIMIT_REDIS_PREFIX: `${prefix}rl:`,
      RATE_LIMIT_WRITE_BURST: '100000',
      RATE_LIMIT_WRITE_PER_SECOND: '100000',
      LOG_LEVEL: 'warn',
    };
    // The worker starts first: it migrates every shard and takes the click flusher's Redis lease
    // (any process may hold it; this way the worker kill below hits the flusher). Then api-1,
    // which prints the admin key, and api-2.
    worker = await serve('worker');
    const r = new Redis(redisUrl);
    for (const deadline = Date.now() + 5000; !(await r.exists(`{${prefix}clicks}:flusher`)); await sleep(20)) {
      if (Date.now() > deadline) throw new Error('the worker did not take the click flusher lease');
    }
    r.disconnect();
    api1 = await serve('api');
    key = TOKEN.exec(api1.stdout())?.[0] ?? '';
    expect(key).toMatch(TOKEN);
    api2 = await serve('api');
  }, 90_000);

  afterAll(async () => {
    await killAll();
    if (redisUrl) {
      const r = new Redis(redisUrl);
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await r.del(...keys);
      } while (cursor !== '0');
      r.disconnect();
    }
    await hook?.close();
    if (pgServer) {
      const admin = new pg.Client({ connectionString: pgServer });
      await admin.connect();
      for (const name of dbNames) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  }, 30_000);

  it('a link created through one api process resolves through the other', async () => {
    const created = await call(api1, 'POST', '/api/v1/links', { url: 'https://example.com/one', alias: 'one-link' });
    expect(created.status).toBe(201);
    expect(await resolve(api2, 'one-link')).toEqual({ status: 301, location: 'https://example.com/one' }); // 301: the default redirect status
    // The worker serves no redirects and no API.
    expect((await resolve(worker, 'one-link')).status).toBe(404);
  }, 60_000);

  it('an edit on api-1 is seen by api-2 within 100 ms, although api-2 had the link cached', async () => {
    expect((await call(api1, 'POST', '/api/v1/links', { url: 'https://example.com/before', alias: 'edit-me' })).status).toBe(201);
    for (let i = 0; i < 3; i++) expect((await resolve(api2, 'edit-me')).location).toBe('https://example.com/before');
    const edited = await call(api1, 'PATCH', '/api/v1/links/edit-me', { url: 'https://example.com/after' });
    expect(edited.status).toBe(200);
    const t0 = performance.now();
    let location: string | null = null;
    while (performance.now() - t0 < 1000) {
      location = (await resolve(api2, 'edit-me')).location;
      if (location === 'https://example.com/after') break;
      await sleep(5);
    }
    const ms = performance.now() - t0;
    console.log(`scale-out: api-2 saw the edit ${ms.toFixed(1)} ms after api-1 answered`);
    expect(location).toBe('https://example.com/after');
    expect(ms).toBeLessThan(100);
  }, 60_000);

  it('clicks on both api processes are counted exactly once (Redis counters, flushed to PostgreSQL)', async () => {
    expect((await call(api1, 'POST', '/api/v1/links', { url: 'https://example.com/clicks', alias: 'clicky' })).status).toBe(201);
    const N = 300;
    await Promise.all(Array.from({ length: N }, (_, i) => resolve(i % 2 === 0 ? api1 : api2, 'clicky')));
    let count = 0;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      const got = await call(api2, 'GET', '/api/v1/links/clicky');
      count = got.body.data?.click_count ?? 0;
      if (count >= N) break;
      await sleep(100);
    }
    await sleep(600); // three more flush intervals: nothing may be added twice
    expect((await call(api1, 'GET', '/api/v1/links/clicky')).body.data?.click_count).toBe(N);
    expect(count).toBe(N);
  }, 60_000);

  it('a notification accepted by api-2 is delivered by the worker; an in-app one reaches a live stream held by api-1', async () => {
    for (const [method, path, body] of [
      ...RECIPIENTS.map((id) => ['POST', '/api/v1/recipients', { id, contacts: [{ kind: 'webhook', address: `${hook.url}/${id}` }] }] as const),
      ['POST', '/api/v1/categories', { name: 'alerts', default_channels: ['webhook'] }],
      ['POST', '/api/v1/categories', { name: 'inbox', default_channels: ['in_app'] }],
      ['PUT', '/api/v1/templates/hi/webhook/en', { body: 'hi {{ n }}' }],
      ['PUT', '/api/v1/templates/hi/in_app/en', { subject: 'Hi', body: 'hi {{ n }}' }],
    ] as const) {
      expect((await call(api1, method, path, body)).status).toBeLessThan(300);
    }
    // A live inbox stream on api-1.
    const controller = new AbortController();
    const stream = await fetch(`${api1.baseUrl}/api/v1/recipients/ada/inbox/stream`, { headers: { authorization: `Bearer ${key}` }, signal: controller.signal });
    expect(stream.status).toBe(200);
    let streamed = '';
    const reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) streamed += decoder.decode(chunk, { stream: true });
    })().catch(() => undefined);
    await sleep(100);
    const hooked = await call(api2, 'POST', '/api/v1/notifications', { recipient: 'ada', category: 'alerts', template: 'hi', data: { n: 1 } });
    expect(hooked.status).toBe(202);
    const deliveryId = hooked.body.data.channels[0].delivery_id as string;
    const inApp = await call(api2, 'POST', '/api/v1/notifications', { recipient: 'ada', category: 'inbox', template: 'hi', data: { n: 2 } });
    expect(inApp.status).toBe(202);
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(20)) {
      if (hook.requests.some((r) => r.headers['webhook-id'] === deliveryId) && streamed.includes('hi 2')) break;
    }
    controller.abort();
    await reading;
    expect(hook.requests.filter((r) => r.headers['webhook-id'] === deliveryId)).toHaveLength(1);
    expect(streamed).toContain('hi 2');
    // The worker writes `sent` after the provider's answer, so a moment after the webhook arrived.
    const statusOf = async () => (await call(api1, 'GET', `/api/v1/notifications/${hooked.body.data.id as string}`)).body.data.channels[0];
    let status = await statusOf();
    for (const deadline = Date.now() + 5000; status?.status !== 'sent' && Date.now() < deadline; await sleep(20)) status = await statusOf();
    expect(status).toMatchObject({ channel: 'webhook', status: 'sent' });
  }, 60_000);

  it('the worker SIGKILLed twice while it flushes clicks and delivers notifications: nothing lost, nothing counted twice', async () => {
    expect((await call(api1, 'POST', '/api/v1/links', { url: 'https://example.com/flow', alias: 'flow' })).status).toBe(201);
    let redirects = 0;
    let stop = false;
    const clicking = Promise.all(
      Array.from({ length: 6 }, async (_, c) => {
        while (!stop) if ((await resolve(c % 2 === 0 ? api1 : api2, 'flow')).status === 301) redirects += 1;
      }),
    );
    const ids: string[] = [];
    for (let b = 0; b < 3; b++) {
      const res = await call(b % 2 === 0 ? api1 : api2, 'POST', '/api/v1/notifications/batch', {
        notifications: Array.from({ length: 100 }, (_, i) => ({ recipient: RECIPIENTS[i % RECIPIENTS.length], category: 'alerts', template: 'hi', data: { n: 1000 + b * 100 + i } })),
      });
      expect(res.status).toBe(202);
      for (const item of res.body.data.items) ids.push(item.channels[0].delivery_id as string);
    }
    let kills = 0;
    for (const wait of [300, 500]) {
      await sleep(wait);
      worker.child.kill('SIGKILL');
      await worker.exited;
      kills += 1;
      await sleep(150);
      worker = await serve('worker');
    }
    await sleep(300);
    stop = true;
    await clicking;
    const received = () => new Set(hook.requests.map((r) => String(r.headers['webhook-id'])));
    const clickCount = async (server: Served): Promise<number> => (await call(server, 'GET', '/api/v1/links/flow')).body.data?.click_count ?? 0;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(100)) {
      if ((await clickCount(api2)) >= redirects && ids.every((id) => received().has(id))) break;
    }
    await sleep(1000); // more flush intervals: nothing may be added twice
    const count = await clickCount(api1);
    const mine = hook.requests.filter((r) => ids.includes(String(r.headers['webhook-id'])));
    const duplicates = mine.length - new Set(mine.map((r) => String(r.headers['webhook-id']))).size;
    console.log(`scale-out: worker killed ${kills} times; ${redirects} redirects → click_count ${count}; ${ids.length} notifications → ${received().size} distinct webhook-ids seen, ${duplicates} duplicates (bound ${kills} kills × 4 in flight)`);
    expect(count).toBe(redirects);
    expect(ids.every((id) => received().has(id))).toBe(true);
    expect(duplicates).toBeLessThanOrEqual(kills * 4);
  }, 60_000);

  it("notifier data is on the recipients' shards: more than one shard holds notifications, each only its own recipients'", async () => {
    const set = new HashRing(['s0', 's1', 's2'], { vnodes: 150 });
    const perShard: number[] = [];
    for (const [index, name] of dbNames.entries()) {
      const client = new pg.Client({ connectionString: shardUrl(name) });
      await client.connect();
      try {
        const { rows } = await client.query<{ account_id: string; recipient_id: string; n: string }>(
          'select account_id, recipient_id, count(*) as n from notifier_notifications group by account_id, recipient_id',
        );
        for (const r of rows) expect(set.lookup(`${r.account_id}:${r.recipient_id}`), `${r.recipient_id} on s${index}`).toBe(`s${index}`);
        perShard.push(rows.reduce((n, r) => n + Number(r.n), 0));
      } finally {
        await client.end();
      }
    }
    console.log(`scale-out: notifications per shard ${perShard.join(' / ')}`);
    expect(perShard.filter((n) => n > 0).length).toBeGreaterThan(1);
    expect(perShard.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(302);
  });

  it('an api process SIGKILLed under load loses no accepted request: every 201 is a link the other process resolves', async () => {
    const accepted: string[] = [];
    let failed = 0;
    let stop = false;
    const load = Promise.all(
      Array.from({ length: 8 }, async (_, c) => {
        for (let i = 0; !stop; i++) {
          const alias = `kill-${c}-${i}`;
          try {
            const r = await call(api1, 'POST', '/api/v1/links', { url: `https://example.com/${alias}`, alias });
            if (r.status === 201) accepted.push(alias);
            else failed += 1;
          } catch {
            failed += 1; // the connection died with the process
            await sleep(20);
          }
        }
      }),
    );
    await sleep(700);
    api1.child.kill('SIGKILL');
    await api1.exited;
    await sleep(200);
    stop = true;
    await load;
    expect(accepted.length).toBeGreaterThan(20);
    expect(failed).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const alias of accepted) {
      const r = await resolve(api2, alias);
      if (r.status !== 301 || r.location !== `https://example.com/${alias}`) missing.push(alias);
    }
    console.log(`scale-out: ${accepted.length} links accepted by api-1 before and while it was killed, ${failed} requests failed with it; missing on api-2: ${missing.length}`);
    expect(missing).toEqual([]);
    api1 = await serve('api', api1.port);
    expect((await resolve(api1, accepted[0]!)).status).toBe(301);
  }, 60_000);
});

import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecordingServer, type RecordingServer } from '../channels/recording-server.js';
import { assertBuilt, freePort, killAll, spawnTny, type TnyProcess } from '../helpers/tny-process.js';

const N = 5000;
const KILLS = Number(process.env.CRASH_KILLS ?? 6);
const WORKERS = 4;
const SINGLE_CONCURRENCY = 16;
const BATCH_SIZE = 100;
/** Notifications sent in batches (the rest one by one). */
const IN_BATCHES = 2000;
const TOKEN = /tny_[0-9A-Za-z]{12}_[0-9A-Za-z]{32}/;

/**
 * The headline test against `tny serve` itself (dist/main/cli.js): one process accepts
 * AND delivers (NOTIFY_WORKERS > 0) while it is SIGKILLed at random moments, some of them in
 * the middle of an accept burst or a batch, and restarted on the same DATA_DIR and port. The
 * client behaves like a real caller: every request has an idempotency key (the header, the
 * body field, a batch's header key, or per-item keys), and a request whose connection failed or
 * that got 5xx/409 is sent again with the same key until it gets 202.
 *
 * Asserted: all N accepted; exactly one notification per key (the client never sees two ids for
 * one n; the database has one row per n; the receiver sees one notification id per n); every
 * one reaches the webhook receiver; the ledger ends with N `sent` rows; duplicates at the
 * receiver (same webhook-id twice) are counted, printed, and at most kills × WORKERS.
 *
 * The bound: a webhook is sent twice only when a process dies (or stalls past NOTIFY_LEASE_MS)
 * after the receiver got it and before `sent` was committed; the row stays `sending` and is
 * claimed again once its claim lease lapses (docs/notifier-pipeline.md, the duplicate window).
 * A process has at most NOTIFY_WORKERS deliveries in flight per channel, and only the webhook
 * channel has any, so one kill can cause at most WORKERS duplicates.
 */
describe('crash: kill -9 `tny serve` (accepting and delivering) while notifications flow', () => {
  let root: string;
  let hook: RecordingServer;
  beforeAll(async () => {
    assertBuilt();
    root = mkdtempSync(join(tmpdir(), 'tny-crash-serve-'));
    hook = await startRecordingServer();
  });
  afterAll(async () => {
    await killAll();
    await hook.close();
    rmSync(root, { recursive: true, force: true });
  });

  it(`${N} notifications (single and batch), ≥ ${KILLS} kills: each accepted once, all delivered, duplicates ≤ kills × ${WORKERS}`, async () => {
    const started = Date.now();
    const dataDir = join(root, 'data');
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const env = {
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: String(port),
      BASE_URL: baseUrl,
      LOG_LEVEL: 'warn',
      NOTIFY_WORKERS: String(WORKERS),
      NOTIFY_WEBHOOK_SECRET: 'whsec_c2VjcmV0',
      NOTIFY_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
      NOTIFY_RETRY_BASE_MS: '50',
      // Above any stall under CI load: a live worker stalled past its lease is the other way to send twice.
      NOTIFY_LEASE_MS: '3000',
      // The write rate limit off, as bench/notify/e2e.ts does.
      RATE_LIMIT_WRITE_BURST: '1000000000',
      RATE_LIMIT_WRITE_PER_SECOND: '1000000000',
    };

    let server: TnyProcess;
    const processes: TnyProcess[] = [];
    const start = async (): Promise<TnyProcess> => {
      const proc = spawnTny(['serve'], env);
      processes.push(proc);
      let exited = false;
      void proc.exited.then(() => (exited = true));
      for (const deadline = Date.now() + 15_000; ; ) {
        if (exited) throw new Error(`tny serve exited before answering:\n${proc.stdout()}\n${proc.stderr()}`);
        if (await fetch(`${baseUrl}/health`).then((r) => r.ok, () => false)) return proc;
        if (Date.now() > deadline) throw new Error(`tny serve did not answer /health:\n${proc.stderr()}`);
        await sleep(25);
      }
    };
    server = await start();
    const adminKey = server.stdout().match(TOKEN)?.[0];
    expect(adminKey, server.stdout()).toBeDefined();
    const headers = { authorization: `Bearer ${adminKey!}`, 'content-type': 'application/json' };
    for (const [method, path, body] of [
      ['POST', '/api/v1/recipients', { id: 'c', contacts: [{ kind: 'webhook', address: `${hook.url}/c` }] }],
      ['POST', '/api/v1/categories', { name: 'load', default_channels: ['webhook'] }],
      ['PUT', '/api/v1/templates/t/webhook/en', { body: 'n={{ n }}' }],
    ] as const) {
      const res = await fetch(`${baseUrl}${path}`, { method, headers, body: JSON.stringify(body) });
      expect(res.status, await res.clone().text()).toBeLessThan(300);
    }

    // ---- the client: every n is sent until it gets a 202, always with the same key and body.
    const idsOf = new Map<number, Set<string>>(); // n → notification ids the client was answered
    const accept = (n: number, id: string) => (idsOf.get(n) ?? idsOf.set(n, new Set()).get(n)!).add(id);
    const stats = { requests: 0, retried: 0, networkErrors: 0, status5xx: 0, status409: 0, replayed: 0, batchesRetried: 0 };
    const unexpected: string[] = [];
    let batchInFlight = false;

    /** POST until 202; returns the answer's data. */
    const clientDeadline = started + 60_000;
    const post = async (path: string, body: object, extra: Record<string, string>): Promise<any> => {
      for (let attempt = 0; ; attempt++) {
        if (Date.now() > clientDeadline) throw new Error(`still no 202 after 60 s (${JSON.stringify(stats)}): ${path} ${JSON.stringify(extra)} ${JSON.stringify(body).slice(0, 200)}`);
        if (attempt > 0) {
          stats.retried += 1;
          if (attempt === 1 && path.endsWith('/batch')) stats.batchesRetried += 1;
          await sleep(Math.min(500, 20 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2));
        }
        stats.requests += 1;
        let res: Response;
        try {
          res = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body), signal: AbortSignal.timeout(15_000) });
        } catch {
          stats.networkErrors += 1;
          continue;
        }
        let text: string;
        try {
          text = await res.text();
        } catch {
          stats.networkErrors += 1; // the process died while answering
          continue;
        }
        if (res.status === 202) {
          if (res.headers.get('idempotent-replayed') === 'true') stats.replayed += 1;
          return (JSON.parse(text) as { data: unknown }).data;
        }
        if (res.status >= 500) stats.status5xx += 1;
        else if (res.status === 409) stats.status409 += 1;
        else {
          unexpected.push(`${path} ${res.status} ${text.slice(0, 300)}`);
          throw new Error(`unexpected ${res.status}: ${text.slice(0, 300)}`);
        }
      }
    };
    const notification = (n: number) => ({ recipient: 'c', category: 'load', template: 't', data: { n } });

    const singles = Array.from({ length: N - IN_BATCHES }, (_, i) => IN_BATCHES + i);
    const singleWorker = async () => {
      for (let n = singles.shift(); n !== undefined; n = singles.shift()) {
        // Half with the Idempotency-Key header, half with the body's idempotency_key.
        const data = n % 2 === 0
          ? await post('/api/v1/notifications', notification(n), { 'idempotency-key': `s-${n}` })
          : await post('/api/v1/notifications', { ...notification(n), idempotency_key: `s-${n}` }, {});
        accept(n, data.id);
      }
    };
    const batchWorker = async () => {
      for (let b = 0; b < IN_BATCHES / BATCH_SIZE; b++) {
        const ns = Array.from({ length: BATCH_SIZE }, (_, i) => b * BATCH_SIZE + i);
        // Three kinds: only the batch's key (items keyed by it and their index); per-item keys;
        // per-item keys and a batch key.
        const kind = b % 3;
        const items = ns.map((n) => (kind === 0 ? notification(n) : { ...notification(n), idempotency_key: `i-${n}` }));
        batchInFlight = true;
        const data = await post('/api/v1/notifications/batch', { notifications: items }, kind === 1 ? {} : { 'idempotency-key': `b-${b}` });
        batchInFlight = false;
        expect(data.accepted).toBe(BATCH_SIZE);
        for (const item of data.items as Array<{ index: number; id: string }>) accept(ns[item.index]!, item.id);
        await sleep(50);
      }
    };

    // ---- the killer: SIGKILL at random moments, every other kill in the middle of a batch.
    let clientDone = false;
    const restartMs: number[] = [];
    let kills = 0;
    const killer = (async () => {
      while (kills < KILLS) {
        if (kills % 2 === 1 && !clientDone) {
          const until = Date.now() + 3000;
          while (!batchInFlight && Date.now() < until) await sleep(2);
          await sleep(Math.random() * 40);
        } else {
          await sleep(250 + Math.random() * 750);
        }
        server.child.kill('SIGKILL');
        await server.exited;
        kills += 1;
        const t0 = Date.now();
        server = await start();
        restartMs.push(Date.now() - t0);
      }
    })();
    await Promise.all([...Array.from({ length: SINGLE_CONCURRENCY }, singleWorker), batchWorker()]);
    clientDone = true;
    const acceptedAt = Date.now();
    await killer;

    // ---- wait for the receiver and the ledger (a delivery in flight at the last kill reached the
    // receiver but stays `sending` until its claim lease lapses; then it is sent again).
    const db = new Database(join(dataDir, 'tny.db'), { readonly: true });
    const sentRows = () => (db.prepare(`SELECT count(*) AS n FROM notifier_deliveries WHERE status = 'sent'`).get() as { n: number }).n;
    const received = () => new Set(hook.requests.map((r) => String(r.headers['webhook-id'])));
    for (const deadline = Date.now() + 40_000; Date.now() < deadline; await sleep(100)) {
      if (received().size >= N && sentRows() >= N) break;
    }
    const seconds = (Date.now() - started) / 1000;
    const takenOver = processes.map((p) => p.stdout().split('taken over').length - 1).reduce((a, b) => a + b, 0);

    // Per n: the notification ids the receiver saw, the webhook-ids, and the rows in the database.
    const atReceiver = new Map<number, Set<string>>();
    for (const r of hook.requests) {
      const body = JSON.parse(r.body.toString()) as { data: { notification_id: string; body: string } };
      const n = Number(/^n=(\d+)$/.exec(body.data.body)?.[1]);
      (atReceiver.get(n) ?? atReceiver.set(n, new Set()).get(n)!).add(body.data.notification_id);
      expect(String(r.headers['webhook-id'])).toBe(`${body.data.notification_id}.webhook`);
    }
    const rows = db.prepare('SELECT id, data FROM notifier_notifications').all() as Array<{ id: string; data: string }>;
    const inDb = new Map<number, number>();
    for (const row of rows) {
      const n = (JSON.parse(row.data) as { n: number }).n;
      inDb.set(n, (inDb.get(n) ?? 0) + 1);
    }
    const unique = received().size;
    const duplicates = hook.requests.length - unique;
    const dupRows = db
      .prepare(`SELECT id, attempts, log FROM notifier_deliveries WHERE attempts > 1 AND status = 'sent' LIMIT 5`)
      .all() as Array<{ id: string; attempts: number; log: string }>;
    const sent = sentRows();
    db.close();
    console.log(
      `crash-serve: accepted ${idsOf.size}, notifications in db ${rows.length}, delivered ${unique} distinct, ${hook.requests.length} webhook requests, ` +
        `${duplicates} duplicates (bound ${kills * WORKERS}), ${sent} sent rows, ${kills} kills; ` +
        `client: ${stats.requests} requests, ${stats.retried} retries (${stats.networkErrors} network errors, ${stats.status5xx} 5xx, ${stats.status409} 409), ` +
        `${stats.batchesRetried} batches retried, ${stats.replayed} replayed answers, ${takenOver} pending keys taken over; restarts ${restartMs.join('/')} ms; accepted in ${((acceptedAt - started) / 1000).toFixed(1)} s, all in ${seconds.toFixed(1)} s`,
    );
    if (duplicates > 0) for (const r of dupRows) console.log('resent', r.id, r.attempts, r.log);

    expect(unexpected).toEqual([]);
    expect(kills).toBeGreaterThanOrEqual(KILLS);
    expect(stats.batchesRetried).toBeGreaterThan(0); // some kills landed in the middle of a batch
    // Every n accepted, with exactly one notification id, in the answers, in the database and at the receiver.
    expect(idsOf.size).toBe(N);
    expect([...idsOf].filter(([, ids]) => ids.size !== 1)).toEqual([]);
    expect(rows.length).toBe(N);
    expect([...inDb].filter(([, count]) => count !== 1)).toEqual([]);
    expect(atReceiver.size).toBe(N);
    expect([...atReceiver].filter(([n, ids]) => ids.size !== 1 || !ids.has([...idsOf.get(n)!][0]!))).toEqual([]);
    expect(unique).toBe(N);
    expect(sent).toBe(N);
    expect(duplicates).toBeLessThanOrEqual(kills * WORKERS);
    server.child.kill('SIGTERM');
    expect(await server.waitExit(10_000)).toEqual({ code: 0, signal: null });
  }, 120_000);
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

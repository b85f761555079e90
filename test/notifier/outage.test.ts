import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecordingServer, type Recorded, type RecordingServer } from '../channels/recording-server.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { expectData } from '../http/support.js';

const OUTAGE_MS = 20_000;
const PER_CATEGORY = 100;
const ROUNDS = 20; // one round every SEND_EVERY_MS: the stream spans the first ~10 s of the outage
const SEND_EVERY_MS = 500;
const BREAKER_FAILURES = 5;
const BREAKER_OPEN_MS = 2000;
const BREAKER_MAX_OPEN_MS = 4000;
const WORKERS = 4;
const MAX_ATTEMPTS = 5; // the default
const FALLBACK_MS = 2000;

interface Call {
  at: number;
  id: string;
  status: number;
}

interface Row {
  id: string;
  category: string;
  channel: string;
  status: string;
  attempts: number;
  last_error: string | null;
  log: Array<{ at: number; event: string; detail?: string }>;
}

/**
 * The outage test, in real time: the webhook provider (a local receiver) answers 503
 * for 20 s, then 200. Two categories stream notifications through it during the first ~10 s:
 * `alerts` (fallback webhook → in_app) and `reports` (webhook only). The webhook breaker must
 * open and keep the provider's load to a few probes; every alert must reach the inbox through
 * the fallback; every report must reach the webhook receiver once, after recovery, none dead.
 * Retries use the default NOTIFY_MAX_ATTEMPTS (5) and NOTIFY_RETRY_BASE_MS (1 s): an outage
 * four times longer than that backoff must not dead-letter anything.
 */
describe('outage: the webhook provider answers 503 for 20 s', () => {
  let t: TestApp;
  let hook: RecordingServer;
  const calls: Call[] = [];
  let down = true;

  beforeAll(async () => {
    hook = await startRecordingServer();
    hook.fallback = (req: Recorded) => {
      const status = down ? 503 : 200;
      calls.push({ at: Date.now(), id: String(req.headers['webhook-id']), status });
      return { status };
    };
    t = await makeTestApp({
      NOTIFY_WEBHOOK_SECRET: 'whsec_c2VjcmV0',
      NOTIFY_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
      NOTIFY_WORKERS: String(WORKERS),
      NOTIFY_BREAKER_FAILURES: String(BREAKER_FAILURES),
      NOTIFY_BREAKER_OPEN_MS: String(BREAKER_OPEN_MS),
      NOTIFY_BREAKER_MAX_OPEN_MS: String(BREAKER_MAX_OPEN_MS),
      NOTIFY_BREAKER_FALLBACK_MS: String(FALLBACK_MS),
    });
  });
  afterAll(async () => {
    await t?.close();
    await hook?.close();
  });

  it(`${PER_CATEGORY} + ${PER_CATEGORY} notifications during the outage: alerts fall back, reports arrive after recovery, none lost`, async () => {
    const started = Date.now();
    const key = await t.newAccountKey('outage');
    for (const [method, url, body] of [
      ['POST', '/api/v1/recipients', { id: 'r', contacts: [{ kind: 'webhook', address: `${hook.url}/r` }] }],
      ['POST', '/api/v1/categories', { name: 'alerts', default_channels: ['webhook'], fallback: ['webhook', 'in_app'] }],
      ['POST', '/api/v1/categories', { name: 'reports', default_channels: ['webhook'] }],
      ['PUT', '/api/v1/templates/t/webhook/en', { body: 'n={{ n }}' }],
      ['PUT', '/api/v1/templates/t/in_app/en', { subject: 'n={{ n }}', body: 'n={{ n }}' }],
    ] as const) {
      expect((await t.call(method, url, { key, body })).statusCode).toBeLessThan(300);
    }

    const outageStart = Date.now();
    const recovery = setTimeout(() => {
      down = false;
    }, OUTAGE_MS);
    const recoveredAt = outageStart + OUTAGE_MS;
    try {
      const perRound = PER_CATEGORY / ROUNDS;
      for (let round = 0; round < ROUNDS; round++) {
        const sends: Promise<unknown>[] = [];
        for (let i = 0; i < perRound; i++) {
          for (const category of ['alerts', 'reports']) {
            const n = round * perRound + i;
            sends.push(t.call('POST', '/api/v1/notifications', { key, body: { recipient: 'r', category, template: 't', data: { n } } }).then((res) => {
              expect(res.statusCode).toBe(202);
            }));
          }
        }
        await Promise.all(sends);
        await new Promise((r) => setTimeout(r, outageStart + (round + 1) * SEND_EVERY_MS - Date.now()));
      }
      const sentAllAt = Date.now();

      const rows = async (): Promise<Row[]> =>
        (
          await t.container.database.db
            .selectFrom('notifier_deliveries as d')
            .innerJoin('notifier_notifications as n', 'n.id', 'd.notification_id')
            .select(['d.id', 'n.category', 'd.channel', 'd.status', 'd.attempts', 'd.last_error', 'd.log'])
            .execute()
        ).map((r) => ({ ...r, attempts: Number(r.attempts), log: JSON.parse(r.log) as Row['log'] }));
      const settled = (all: Row[]) =>
        all.filter((r) => r.category === 'reports' && r.status === 'sent').length === PER_CATEGORY &&
        all.filter((r) => r.category === 'alerts' && r.channel === 'in_app' && r.status === 'sent').length === PER_CATEGORY &&
        all.filter((r) => r.category === 'alerts' && r.channel === 'webhook' && r.status === 'failed').length === PER_CATEGORY;
      let all = await rows();
      while (!settled(all) && Date.now() < started + 50_000) {
        await new Promise((r) => setTimeout(r, 100));
        all = await rows();
      }
      const settledAt = Date.now();

      // --- figures ------------------------------------------------------------------------
      const during = calls.filter((c) => c.status === 503);
      const accepted = calls.filter((c) => c.status === 200);
      const reportIds = new Set(all.filter((r) => r.category === 'reports').map((r) => r.id));
      const reportRows = all.filter((r) => r.category === 'reports');
      const alertHooks = all.filter((r) => r.category === 'alerts' && r.channel === 'webhook');
      const alertInApp = all.filter((r) => r.category === 'alerts' && r.channel === 'in_app');
      const lastAccepted = Math.max(...accepted.map((c) => c.at));
      const attempts = reportRows.map((r) => r.attempts).sort((a, b) => a - b);
      const count = (xs: Row[], status: string) => xs.filter((r) => r.status === status).length;
      const perDelivery = new Map<string, number>();
      for (const c of during) perDelivery.set(c.id, (perDelivery.get(c.id) ?? 0) + 1);
      console.log(
        [
          `outage test: ${calls.length} webhook calls in all, ${during.length} answered 503 during the ${OUTAGE_MS / 1000} s outage` +
            ` (stream of ${2 * PER_CATEGORY} notifications sent by +${sentAllAt - outageStart} ms)`,
          `  503 calls at ms after outage start: ${during.map((c) => c.at - outageStart).join(', ')}` +
            ` (${perDelivery.size} deliveries, at most ${Math.max(...perDelivery.values())} calls for one)`,
          `  reports: ${count(reportRows, 'sent')} sent, ${count(reportRows, 'dead')} dead, ${count(reportRows, 'pending')} pending;` +
            ` ledger attempts min ${attempts[0]} median ${attempts[attempts.length >> 1]} max ${attempts.at(-1)};` +
            ` first 200 at +${Math.min(...accepted.map((c) => c.at)) - recoveredAt} ms after recovery, last at +${lastAccepted - recoveredAt} ms`,
          `  alerts: webhook ${count(alertHooks, 'failed')} failed / ${count(alertHooks, 'dead')} dead / ${count(alertHooks, 'sent')} sent; in_app ${count(alertInApp, 'sent')} sent`,
          `  settled ${settledAt - outageStart} ms after outage start; test ${settledAt - started} ms`,
        ].join('\n'),
      );

      // --- the breaker opened and shielded the provider -----------------------------------
      // Without a breaker every delivery would call the provider on every attempt:
      // 2 × 100 notifications × up to 5 attempts. With it, the provider sees the calls that
      // open it (NOTIFY_BREAKER_FAILURES, plus at most WORKERS - 1 already in flight) and then
      // one probe per open period: the open time starts at 2 s and doubles to at most 4 s,
      // so a 20 s outage has at most 20 s / 2 s = 10 probe rounds.
      const bound = BREAKER_FAILURES + (WORKERS - 1) + OUTAGE_MS / BREAKER_OPEN_MS;
      expect(during.length).toBeGreaterThanOrEqual(BREAKER_FAILURES);
      expect(during.length).toBeLessThanOrEqual(bound);
      expect(during.length * 10).toBeLessThan(2 * PER_CATEGORY * MAX_ATTEMPTS);
      const rejected = all.filter((r) => r.log.some((e) => e.detail?.startsWith('BrokenCircuitError')));
      expect(rejected.length).toBeGreaterThan(PER_CATEGORY); // nearly every delivery met the open breaker
      expect(accepted.every((c) => c.at >= recoveredAt)).toBe(true);
      // The probes fall to random waiting deliveries (the pipeline spreads refused ones): no
      // delivery spent its attempts carrying them.
      expect(Math.max(...perDelivery.values())).toBeLessThan(MAX_ATTEMPTS);

      // --- alerts: every one through the fallback, none lost ------------------------------
      expect(alertHooks).toHaveLength(PER_CATEGORY);
      for (const r of alertHooks) {
        expect(r.status, r.id).toBe('failed');
        expect(r.log.some((e) => e.event === 'fallback' && e.detail === 'in_app'), r.id).toBe(true);
      }
      expect(alertInApp).toHaveLength(PER_CATEGORY);
      expect(alertInApp.every((r) => r.status === 'sent')).toBe(true);
      const inbox = expectData(await t.call('GET', '/api/v1/recipients/r/inbox/unread-count', { key }));
      expect(inbox).toEqual({ unread: PER_CATEGORY });
      // No alert reached the webhook receiver.
      expect(accepted.filter((c) => !reportIds.has(c.id))).toEqual([]);

      // --- reports: every one by webhook after recovery, once, none dead -------------------
      expect(reportRows).toHaveLength(PER_CATEGORY);
      for (const r of reportRows) {
        expect(r.channel).toBe('webhook');
        expect(r.status, `${r.id}: ${r.last_error}`).toBe('sent');
        expect(r.attempts).toBeGreaterThan(1);
      }
      expect(accepted).toHaveLength(PER_CATEGORY);
      expect(new Set(accepted.map((c) => c.id)).size).toBe(PER_CATEGORY);
      expect((await t.container.notifications!.queue.countDead('notify.webhook'))).toBe(0);

      // --- the half-open probe lets the backlog flow promptly after recovery --------------
      // The first probe after recovery comes at most one open period (4 s) later; the backlog
      // of 100 then drains at local speed.
      expect(lastAccepted - recoveredAt).toBeLessThan(BREAKER_MAX_OPEN_MS + 3000);
      expect(settledAt - started).toBeLessThan(45_000);
    } finally {
      clearTimeout(recovery);
    }
  }, 60_000);
});

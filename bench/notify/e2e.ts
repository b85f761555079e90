/**
 * End-to-end notifications on the embedded default (SQLite): `tny serve` (dist build) with a
 * webhook contact pointing at a node:http sink in this process that records each webhook-id
 * (the delivery id) and its receive time.
 *
 *   npm run build && npx tsx bench/notify/e2e.ts
 *
 * Scenarios:
 *  - single-1k: 1,000 POST /api/v1/notifications, 50 in flight, while the workers deliver.
 *  - batch-1k:  1,000 in one POST /api/v1/notifications/batch, while the workers deliver.
 *    Per round: accepted/s (first request sent to last answer), delivered/s (first request
 *    sent to last webhook received), p50/p99 from accept (the answer naming the delivery)
 *    to the sink receiving it, and from submit (the request sent). In a batch, deliveries
 *    start before the batch's answer arrives, so answer→delivered is negative there and
 *    submit→delivered (from the batch request sent) is the meaningful one. Medians over
 *    BENCH_ROUNDS rounds.
 *  - depth-100k: BENCH_DEPTH (100,000) accepted through the batch API (1,000 a call, 4 in
 *    flight) by a tny started with NOTIFY_WORKERS=0 (queues, does not deliver); then tny is
 *    restarted on the same data dir with workers and the drain is timed: delivered/s over
 *    the first BENCH_DRAIN_SECONDS (60) or until empty.
 * Compared with the chapter's target of 100 M/day: 1,160/s average, 3,500/s peak.
 * Every notification (single or batch item) carries its own idempotency_key.
 * tny runs with the write rate limit off and BODY_LIMIT=1 MiB (a 1,000-item batch is ~97 KB,
 * over the default 64 KiB).
 *  - sustained: open-loop batches of 50 at BENCH_SUSTAIN_RATES (1160,2000,3500 per second) for
 *    BENCH_SUSTAIN_SECONDS (20) each, accepting and delivering at once: accepted/s, delivered/s
 *    over the same window, and the backlog left when the load stops (a rate is sustained when
 *    delivered keeps up with accepted and the backlog stays small).
 *  - split: the same open loop at BENCH_SPLIT_RATES (3500,5000) against two processes on one
 *    SQLite file, one accepting (NOTIFY_WORKERS=0, server CPU) and one delivering (load CPU,
 *    shared with the client and the sink): the node's two cores (with pinning only).
 * BENCH_QUEUE=bullmq runs every phase in scale-out mode instead: a throwaway PostgreSQL database
 * per phase (BENCH_DATABASE_URL's server), Redis (BENCH_REDIS_URL), QUEUE=bullmq; results in
 * notify-e2e-bullmq-*.json. BENCH_SHARDS=N (with BENCH_QUEUE=bullmq): N throwaway databases as
 * DATABASE_SHARDS (notifier data by recipient, ADR 10), results in notify-e2e-bullmq-shardsN-*.json.
 * BENCH_RECIPIENTS (1): notifications go round robin to that many recipients (one recipient's
 * data is on one shard, so a sharded run needs several).
 * Knobs: BENCH_ROUNDS (3), BENCH_DEPTH (100000; 0 skips), BENCH_DRAIN_SECONDS (60),
 * BENCH_NOTIFY_WORKERS (tny's default when unset), BENCH_PIN=0.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { waitForQuiet } from '../lib/cpu.js';
import { freePort } from '../lib/net.js';
import { pinning, removeDir, startTny, tempDir, type TnyServer } from '../lib/process.js';
import { profileFlags, profilesIn } from '../lib/profile.js';
import { scaleOutStorage } from '../lib/services.js';
import { environment, environmentLine, writeResults } from '../lib/report.js';
import { fmt, fmtInt, median, percentile, round } from '../lib/stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DEPTH = Number(process.env.BENCH_DEPTH ?? 100_000);
const DRAIN_S = Number(process.env.BENCH_DRAIN_SECONDS ?? 60);
const WORKERS = process.env.BENCH_NOTIFY_WORKERS;
const SUSTAIN_S = Number(process.env.BENCH_SUSTAIN_SECONDS ?? 20);
const SUSTAIN_RATES = (process.env.BENCH_SUSTAIN_RATES ?? '1160,2000,3500').split(',').map(Number).filter((n) => n > 0);
const SUSTAIN_BATCH = 50;
/** `bullmq`: tny in scale-out mode (a throwaway PostgreSQL database per phase, Redis, QUEUE=bullmq). */
const QUEUE_MODE = process.env.BENCH_QUEUE === 'bullmq' ? 'bullmq' : 'sqlite';
const SHARDS = QUEUE_MODE === 'bullmq' ? Number(process.env.BENCH_SHARDS ?? 0) : 0;
const RECIPIENTS = Math.max(1, Number(process.env.BENCH_RECIPIENTS ?? 1));
const SPLIT_RATES = (process.env.BENCH_SPLIT_RATES ?? '3500,5000').split(',').map(Number).filter((n) => n > 0);
const SMALL = 1000;
const IN_FLIGHT = 50;
const BATCH = 1000;
const BATCH_IN_FLIGHT = 4;
const TARGET_AVG = 1160;
const TARGET_PEAK = 3500;
const SECRET = 'whsec_' + Buffer.from('tny-bench-notify-e2e-secret-0123').toString('base64');

const log = (s = ''): void => console.log(s);

// The sink runs in this process: keep it (and the load) off tny's CPU.
if (pinning.enabled) spawnSync('taskset', ['-cp', pinning.loadCpu, String(process.pid)], { stdio: 'ignore' });

/** The webhook receiver: webhook-id → receive time (performance.now()). */
class Sink {
  readonly received = new Map<string, number>();
  duplicates = 0;
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.port = await freePort();
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const at = performance.now();
      const id = req.headers['webhook-id'];
      req.resume();
      req.on('end', () => {
        if (typeof id === 'string') {
          if (this.received.has(id)) this.duplicates += 1;
          else this.received.set(id, at);
        }
        res.writeHead(204).end();
      });
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

interface Api {
  base: string;
  headers: Record<string, string>;
}

async function call<T>(api: Api, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${api.base}${path}`, { method, headers: api.headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

async function setup(api: Api, sink: Sink): Promise<void> {
  for (let i = 0; i < RECIPIENTS; i++) {
    await call(api, 'POST', '/api/v1/recipients', { id: recipientOf(i), contacts: [{ kind: 'webhook', address: sink.url }] });
  }
  await call(api, 'POST', '/api/v1/categories', { name: 'bench', default_channels: ['webhook'], fallback: ['webhook'] });
  await call(api, 'PUT', '/api/v1/templates/bench/webhook/en', { subject: 'Bench {{ n }}', body: 'Hi {{ name }}, notification {{ n }}.' });
}

/** Every notification carries its own idempotency key, as a caller that retries safely sends it. */
const recipientOf = (n: number) => (RECIPIENTS === 1 ? 'bench-user' : `bench-user-${n % RECIPIENTS}`);
const notification = (n: number) => ({ recipient: recipientOf(n), category: 'bench', template: 'bench', data: { name: 'Ada', n }, idempotency_key: `bench-${RUN_ID}-${n}` });
const RUN_ID = Date.now().toString(36);

interface Channel {
  channel: string;
  status: string;
  delivery_id?: string;
}
interface SingleAnswer {
  data: { id: string; channels: Channel[] };
}
interface BatchAnswer {
  data: { accepted: number; rejected: number; items: { status: string; channels?: Channel[]; error?: unknown }[] };
}

function deliveryIds(channels: Channel[] | undefined): string[] {
  const ids = (channels ?? []).filter((c) => c.status === 'queued' && c.delivery_id).map((c) => c.delivery_id as string);
  if (ids.length === 0) throw new Error(`nothing queued: ${JSON.stringify(channels)}`);
  return ids;
}

async function pool(n: number, inFlight: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

interface RoundResult {
  acceptedPerS: number;
  deliveredPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** From the request being sent (for a batch: the whole batch's request) to the sink. */
  submitP50Ms: number;
  submitP99Ms: number;
  delivered: number;
}

/** Sends SMALL notifications (single or batch) and waits until the sink has all of them. */
async function smallRound(api: Api, sink: Sink, mode: 'single' | 'batch', offset: number): Promise<RoundResult> {
  const accepted = new Map<string, number>();
  const submitted = new Map<string, number>();
  const t0 = performance.now();
  if (mode === 'single') {
    await pool(SMALL, IN_FLIGHT, async (i) => {
      const sent = performance.now();
      const a = await call<SingleAnswer>(api, 'POST', '/api/v1/notifications', notification(offset + i));
      const at = performance.now();
      for (const id of deliveryIds(a.data.channels)) {
        accepted.set(id, at);
        submitted.set(id, sent);
      }
    });
  } else {
    const a = await call<BatchAnswer>(api, 'POST', '/api/v1/notifications/batch', { notifications: Array.from({ length: SMALL }, (_, i) => notification(offset + i)) });
    const at = performance.now();
    if (a.data.rejected > 0) throw new Error(`batch: ${a.data.rejected} rejected: ${JSON.stringify(a.data.items.find((x) => x.status !== 'accepted'))}`);
    for (const item of a.data.items) {
      for (const id of deliveryIds(item.channels)) {
        accepted.set(id, at);
        submitted.set(id, t0);
      }
    }
  }
  const t1 = performance.now();
  const ids = [...accepted.keys()];
  const all = await waitFor(() => ids.every((id) => sink.received.has(id)), 120_000);
  if (!all) throw new Error(`${mode}: only ${ids.filter((id) => sink.received.has(id)).length} of ${ids.length} delivered within 120 s`);
  const times = ids.map((id) => sink.received.get(id) as number);
  const last = Math.max(...times);
  const latencies = ids.map((id) => (sink.received.get(id) as number) - (accepted.get(id) as number));
  const fromSubmit = ids.map((id) => (sink.received.get(id) as number) - (submitted.get(id) as number));
  return {
    acceptedPerS: (ids.length * 1000) / (t1 - t0),
    deliveredPerS: (ids.length * 1000) / (last - t0),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    submitP50Ms: percentile(fromSubmit, 50),
    submitP99Ms: percentile(fromSubmit, 99),
    delivered: ids.length,
  };
}

interface SustainResult {
  offeredPerS: number;
  acceptedPerS: number;
  deliveredPerS: number;
  /** Accepted but not delivered when the offered load stopped. */
  backlogAtEnd: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * Open-loop load: a batch of SUSTAIN_BATCH every SUSTAIN_BATCH/rate seconds for SUSTAIN_S,
 * accepting and delivering at once (the workers run). Accepted/s and delivered/s are over the
 * same window; a backlog that grows means the rate is not sustained. p50/p99: batch answer
 * to delivery, over the notifications delivered inside the window.
 */
async function sustained(api: Api, sink: Sink, rate: number, offset: number): Promise<SustainResult> {
  const accepted = new Map<string, number>();
  const intervalMs = (SUSTAIN_BATCH * 1000) / rate;
  const t0 = performance.now();
  const end = t0 + SUSTAIN_S * 1000;
  const inFlight = new Set<Promise<void>>();
  for (let k = 0; ; k++) {
    const due = t0 + k * intervalMs;
    if (due >= end) break;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const p = call<BatchAnswer>(api, 'POST', '/api/v1/notifications/batch', {
      notifications: Array.from({ length: SUSTAIN_BATCH }, (_, i) => notification(offset + k * SUSTAIN_BATCH + i)),
    }).then((a) => {
      const at = performance.now();
      for (const item of a.data.items) for (const id of deliveryIds(item.channels)) accepted.set(id, at);
    });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (inFlight.size >= 64) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const t1 = performance.now();
  const ids = [...accepted.keys()];
  const inWindow = ids.filter((id) => (sink.received.get(id) ?? Infinity) <= t1);
  const latencies = inWindow.map((id) => (sink.received.get(id) as number) - (accepted.get(id) as number));
  const result: SustainResult = {
    offeredPerS: rate,
    acceptedPerS: (ids.length * 1000) / (t1 - t0),
    deliveredPerS: (inWindow.length * 1000) / (t1 - t0),
    backlogAtEnd: ids.length - inWindow.length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
  // Let the backlog drain before the next rate.
  await waitFor(() => ids.every((id) => sink.received.has(id)), 120_000);
  return result;
}

/**
 * The two cores of one node used by two processes on the same SQLite file: `tny serve` with
 * NOTIFY_WORKERS=0 accepting (server CPU) and a second `tny serve` delivering (the load CPU,
 * shared with this process's client and sink: with two cores there is no third).
 */
/** The storage of one phase: the embedded SQLite in its data dir, or (BENCH_QUEUE=bullmq) a throwaway PostgreSQL database + Redis. */
async function phaseStorage(): Promise<{ env: Record<string, string>; dispose(): Promise<void> }> {
  return QUEUE_MODE === 'bullmq' ? scaleOutStorage(SHARDS) : { env: {}, dispose: async () => {} };
}

async function splitRun(sink: Sink, baseEnv: Record<string, string>): Promise<SustainResult[]> {
  const dataDir = tempDir('notify-e2e-split');
  const procs: TnyServer[] = [];
  const storage = await phaseStorage();
  const env = { ...baseEnv, ...storage.env };
  try {
    const api = await startTny({ dataDir, env: { ...env, NOTIFY_WORKERS: '0' } });
    procs.push(api);
    const a = apiFor(api);
    await setup(a, sink);
    procs.push(await startTny({ dataDir, env, cpu: pinning.loadCpu }));
    const out: SustainResult[] = [];
    for (const [i, rate] of SPLIT_RATES.entries()) {
      const r = await sustained(a, sink, rate, 50_000_000 * (i + 1));
      out.push(r);
      log(`  split ${fmtInt(rate)}/s offered for ${SUSTAIN_S} s: accepted ${fmtInt(r.acceptedPerS)}/s, delivered ${fmtInt(r.deliveredPerS)}/s, backlog at the end ${fmtInt(r.backlogAtEnd)}; answer→delivered p50 ${fmt(r.p50Ms, 1)} / p99 ${fmt(r.p99Ms, 1)} ms`);
    }
    return out;
  } finally {
    for (const p of procs.reverse()) await p.stop();
    removeDir(dataDir);
    await storage.dispose();
  }
}

interface DepthResult {
  depth: number;
  acceptedPerS: number;
  acceptS: number;
  drainS: number;
  delivered: number;
  deliveredPerS: number;
  drainedAll: boolean;
  /** From the restarted tny accepting connections to the sink receiving each (the drain's own clock). */
  p50FromDrainStartMs: number;
  p99FromDrainStartMs: number;
}

async function depthRun(sink: Sink, baseEnv: Record<string, string>): Promise<DepthResult> {
  const dataDir = tempDir('notify-e2e-depth');
  const storage = await phaseStorage();
  const env = { ...baseEnv, ...storage.env };
  let tny: TnyServer | undefined;
  let profileDir: string | undefined;
  try {
    tny = await startTny({ dataDir, env: { ...env, NOTIFY_WORKERS: '0' } });
    const api = apiFor(tny);
    await setup(api, sink);
    const ids: string[] = [];
    const t0 = performance.now();
    const calls = Math.ceil(DEPTH / BATCH);
    await pool(calls, BATCH_IN_FLIGHT, async (c) => {
      const n = Math.min(BATCH, DEPTH - c * BATCH);
      const a = await call<BatchAnswer>(api, 'POST', '/api/v1/notifications/batch', { notifications: Array.from({ length: n }, (_, i) => notification(c * BATCH + i)) });
      if (a.data.rejected > 0) throw new Error(`depth batch: ${a.data.rejected} rejected`);
      for (const item of a.data.items) ids.push(...deliveryIds(item.channels));
    });
    const acceptS = (performance.now() - t0) / 1000;
    log(`  depth: accepted ${fmtInt(ids.length)} via batch in ${fmt(acceptS, 1)} s (${fmtInt(ids.length / acceptS)}/s), NOTIFY_WORKERS=0; restarting with workers …`);
    await tny.stop();
    const before = sink.received.size;
    const profile = profileFlags('notify-drain');
    profileDir = profile.dir;
    tny = await startTny({ dataDir, env, nodeFlags: profile.flags });
    const t1 = performance.now();
    const want = new Set(ids);
    let got = 0;
    const countGot = (): number => {
      got = 0;
      for (const id of want) if (sink.received.has(id)) got += 1;
      return got;
    };
    // Poll cheaply on the sink's size, check the ids at the end.
    const drainedAll = await waitFor(() => sink.received.size - before >= want.size, DRAIN_S * 1000);
    const t2 = performance.now();
    countGot();
    const times = ids.map((id) => sink.received.get(id)).filter((t): t is number => t !== undefined && t >= t1);
    const lastAt = drainedAll && times.length > 0 ? Math.max(...times) : t2;
    return {
      depth: ids.length,
      acceptedPerS: ids.length / acceptS,
      acceptS,
      drainS: (lastAt - t1) / 1000,
      delivered: got,
      deliveredPerS: (got * 1000) / (lastAt - t1),
      drainedAll: drainedAll && got === want.size,
      p50FromDrainStartMs: percentile(times.map((t) => t - t1), 50),
      p99FromDrainStartMs: percentile(times.map((t) => t - t1), 99),
    };
  } finally {
    await tny?.stop();
    removeDir(dataDir);
    await storage.dispose();
    if (profileDir) log(`  drain CPU profile: ${profilesIn(profileDir).join(', ')} (npx tsx bench/profile-top.ts <file>)`);
  }
}

function apiFor(tny: TnyServer): Api {
  if (!tny.adminKey) throw new Error(`tny printed no admin key:\n${tny.output().slice(-2000)}`);
  return { base: tny.url, headers: { Authorization: `Bearer ${tny.adminKey}`, 'Content-Type': 'application/json' } };
}

const ratio = (v: number): string => `${fmt(v / TARGET_PEAK)}× peak, ${fmt(v / TARGET_AVG)}× avg`;

async function main(): Promise<void> {
  const busyBefore = await waitForQuiet(Number(process.env.BENCH_WAIT_QUIET_SECONDS ?? 20), 0.1, log);
  const env = environment();
  log(`notify-e2e — ${fmtInt(SMALL)} per round × ${ROUNDS} rounds (single: ${IN_FLIGHT} in flight; batch: 1 call), depth ${fmtInt(DEPTH)}; NOTIFY_WORKERS ${WORKERS ?? 'default'}; queue ${QUEUE_MODE === 'bullmq' ? 'BullMQ on Redis, PostgreSQL' : 'SQLite (embedded)'}`);
  log(`${environmentLine(env)}; machine busy before start: ${Math.round(busyBefore * 100)}%`);
  log(`targets (100 M/day): ${fmtInt(TARGET_AVG)}/s average, ${fmtInt(TARGET_PEAK)}/s peak`);

  const sink = new Sink();
  await sink.start();
  const tnyEnv: Record<string, string> = {
    NOTIFY_WEBHOOK_SECRET: SECRET,
    NOTIFY_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
    RATE_LIMIT_WRITE_BURST: '1000000000',
    RATE_LIMIT_WRITE_PER_SECOND: '1000000000',
    // A batch of 1,000 of these is ~97 KB: over the default BODY_LIMIT (64 KiB).
    BODY_LIMIT: String(1024 * 1024),
    ...(WORKERS ? { NOTIFY_WORKERS: WORKERS } : {}),
  };
  const dataDir = tempDir('notify-e2e');
  const mainStorage = await phaseStorage();
  let tny: TnyServer | undefined;
  const results: Record<'single' | 'batch', RoundResult[]> = { single: [], batch: [] };
  let depth: DepthResult | undefined;
  let mainProfileDir: string | undefined;
  const sustain: SustainResult[] = [];
  let split: SustainResult[] = [];
  try {
    const profile = profileFlags('notify-rounds');
    mainProfileDir = profile.dir;
    tny = await startTny({ dataDir, env: { ...tnyEnv, ...mainStorage.env }, nodeFlags: profile.flags });
    const api = apiFor(tny);
    await setup(api, sink);
    // Warm-up (JIT, connections, statement caches), not recorded.
    await smallRound(api, sink, 'single', 0);
    await smallRound(api, sink, 'batch', SMALL);
    for (let r = 0; r < ROUNDS; r++) {
      const order: ('single' | 'batch')[] = r % 2 === 0 ? ['single', 'batch'] : ['batch', 'single'];
      for (const mode of order) {
        const res = await smallRound(api, sink, mode, (2 + r * 2 + (mode === 'batch' ? 1 : 0)) * SMALL);
        results[mode].push(res);
        log(`  round ${r + 1}/${ROUNDS} ${mode.padEnd(6)} accepted ${fmtInt(res.acceptedPerS).padStart(7)}/s  delivered ${fmtInt(res.deliveredPerS).padStart(6)}/s  answer→delivered p50 ${fmt(res.p50Ms, 1)} p99 ${fmt(res.p99Ms, 1)} ms; submit→delivered p50 ${fmt(res.submitP50Ms, 1)} p99 ${fmt(res.submitP99Ms, 1)} ms`);
      }
    }
    for (const [i, rate] of SUSTAIN_RATES.entries()) {
      const r = await sustained(api, sink, rate, 10_000_000 * (i + 1));
      sustain.push(r);
      log(`  sustained ${fmtInt(rate)}/s offered for ${SUSTAIN_S} s: accepted ${fmtInt(r.acceptedPerS)}/s, delivered ${fmtInt(r.deliveredPerS)}/s, backlog at the end ${fmtInt(r.backlogAtEnd)}; answer→delivered p50 ${fmt(r.p50Ms, 1)} / p99 ${fmt(r.p99Ms, 1)} ms`);
    }
    await tny.stop();
    tny = undefined;
    if (mainProfileDir) log(`  rounds CPU profile: ${profilesIn(mainProfileDir).join(', ')} (npx tsx bench/profile-top.ts <file>)`);
    if (SPLIT_RATES.length > 0 && pinning.enabled) split = await splitRun(sink, tnyEnv);
    if (DEPTH > 0) depth = await depthRun(sink, tnyEnv);
  } finally {
    await tny?.stop();
    removeDir(dataDir);
    await mainStorage.dispose();
    await sink.stop();
  }

  const summarizeMode = (rs: RoundResult[]) => ({
    acceptedPerS: round(median(rs.map((x) => x.acceptedPerS)), 0),
    deliveredPerS: round(median(rs.map((x) => x.deliveredPerS)), 0),
    p50Ms: round(median(rs.map((x) => x.p50Ms)), 1),
    p99Ms: round(median(rs.map((x) => x.p99Ms)), 1),
    submitP50Ms: round(median(rs.map((x) => x.submitP50Ms)), 1),
    submitP99Ms: round(median(rs.map((x) => x.submitP99Ms)), 1),
  });
  const summary = { single: summarizeMode(results.single), batch: summarizeMode(results.batch) };
  log();
  log(`medians over ${ROUNDS} rounds, ${fmtInt(SMALL)} notifications each (ratio to ${fmtInt(TARGET_PEAK)}/s peak, ${fmtInt(TARGET_AVG)}/s average):`);
  for (const mode of ['single', 'batch'] as const) {
    const s = summary[mode];
    log(`  ${mode.padEnd(6)} accepted ${fmtInt(s.acceptedPerS).padStart(7)}/s (${ratio(s.acceptedPerS)})`);
    log(`         delivered ${fmtInt(s.deliveredPerS).padStart(6)}/s (${ratio(s.deliveredPerS)}); answer→delivered p50 ${fmt(s.p50Ms, 1)} / p99 ${fmt(s.p99Ms, 1)} ms; submit→delivered p50 ${fmt(s.submitP50Ms, 1)} / p99 ${fmt(s.submitP99Ms, 1)} ms`);
  }
  if (depth) {
    log(`  depth ${fmtInt(depth.depth)}: accepted ${fmtInt(depth.acceptedPerS)}/s via batch (${ratio(depth.acceptedPerS)})`);
    log(
      `         drain ${fmtInt(depth.deliveredPerS)}/s (${ratio(depth.deliveredPerS)}): ${fmtInt(depth.delivered)} delivered in ${fmt(depth.drainS, 1)} s${depth.drainedAll ? ' (all)' : ` (stopped after ${DRAIN_S} s)`}; ` +
        `from restart p50 ${fmt(depth.p50FromDrainStartMs / 1000, 1)} s, p99 ${fmt(depth.p99FromDrainStartMs / 1000, 1)} s`,
    );
  }
  for (const r of sustain) {
    log(
      `  sustained ${fmtInt(r.offeredPerS).padStart(5)}/s offered: accepted ${fmtInt(r.acceptedPerS)}/s, delivered ${fmtInt(r.deliveredPerS)}/s (${fmt(r.deliveredPerS / r.offeredPerS)}× offered), ` +
        `backlog at the end ${fmtInt(r.backlogAtEnd)} (${fmt(r.backlogAtEnd / r.offeredPerS, 1)} s of load); p50 ${fmt(r.p50Ms, 1)} / p99 ${fmt(r.p99Ms, 1)} ms`,
    );
  }
  for (const r of split) {
    log(
      `  split (accept | deliver processes) ${fmtInt(r.offeredPerS).padStart(5)}/s offered: accepted ${fmtInt(r.acceptedPerS)}/s, delivered ${fmtInt(r.deliveredPerS)}/s (${fmt(r.deliveredPerS / r.offeredPerS)}× offered), ` +
        `backlog at the end ${fmtInt(r.backlogAtEnd)} (${fmt(r.backlogAtEnd / r.offeredPerS, 1)} s of load); p50 ${fmt(r.p50Ms, 1)} / p99 ${fmt(r.p99Ms, 1)} ms`,
    );
  }
  log(`  duplicates at the sink: ${sink.duplicates}`);
  const file = writeResults(QUEUE_MODE === 'bullmq' ? (SHARDS > 0 ? `notify-e2e-bullmq-shards${SHARDS}` : 'notify-e2e-bullmq') : 'notify-e2e', {
    command: 'npm run build && npx tsx bench/notify/e2e.ts',
    environment: { ...env, busyBeforeStart: round(busyBefore, 3) },
    parameters: { queue: QUEUE_MODE, shards: SHARDS, recipients: RECIPIENTS, splitRates: SPLIT_RATES, sustainSeconds: SUSTAIN_S, sustainRates: SUSTAIN_RATES, sustainBatch: SUSTAIN_BATCH, small: SMALL, rounds: ROUNDS, inFlight: IN_FLIGHT, depth: DEPTH, batch: BATCH, batchInFlight: BATCH_IN_FLIGHT, drainSeconds: DRAIN_S, notifyWorkers: WORKERS ?? 'default' },
    targets: { averagePerS: TARGET_AVG, peakPerS: TARGET_PEAK },
    summary: Object.fromEntries(
      (['single', 'batch'] as const).map((m) => [
        m,
        { ...summary[m], acceptedToPeak: round(summary[m].acceptedPerS / TARGET_PEAK, 2), deliveredToPeak: round(summary[m].deliveredPerS / TARGET_PEAK, 2) },
      ]),
    ),
    depth: depth
      ? {
          ...Object.fromEntries(Object.entries(depth).map(([k, v]) => [k, typeof v === 'number' ? round(v, 1) : v])),
          acceptedToPeak: round(depth.acceptedPerS / TARGET_PEAK, 2),
          deliveredToPeak: round(depth.deliveredPerS / TARGET_PEAK, 2),
        }
      : null,
    split: split.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v, 1)]))),
    sustained: sustain.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v, 1)]))),
    duplicates: sink.duplicates,
    rounds: results,
  });
  log(`results: ${file}`);
}

await main();

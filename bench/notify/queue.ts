/**
 * The durable queue: tny's SQLite adapter (embedded default) against BullMQ 6 on Redis (the
 * scale-out engine and the usual Node baseline), and tny's BullMQ adapter (BullmqQueue with
 * runWorker: the port's semantics on BullMQ's keys) against raw BullMQ to show the adapter's
 * overhead, in the same process, rounds rotating which goes first.
 *
 *   npx tsx bench/notify/queue.ts
 *
 * Each round and subject: enqueue N jobs one call at a time with 50 calls in flight
 * (enqueue vs Queue.add), then drain them with a worker at concurrency 50 and a no-op handler
 * (tny's runWorker: lease ≤ free slots, ack each; BullMQ's Worker: removeOnComplete). Reported:
 * enqueues/s, processed/s (lease+ack, or BullMQ's move-to-active + complete) and end-to-end
 * jobs/s over both phases; medians over the rounds and the median of per-round ratios.
 * SQLite: a fresh WAL file per round (synchronous=NORMAL, as tny runs). Redis:
 * BENCH_REDIS_URL or redis://127.0.0.1:6379, a fresh queue name per round, obliterated after.
 * Depth: then, with BENCH_DEPTH (100,000) jobs queued (bulk-loaded: enqueueBatch / addBulk, 1,000
 * a call, untimed), the same worker drains the first BENCH_JOBS of them: processed/s with a
 * deep queue (the index must not make leasing slower as the queue grows).
 * Knobs: BENCH_ROUNDS (5), BENCH_JOBS (5,000), BENCH_DEPTH (100,000; 0 skips it).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue as BullQueue, Worker as BullWorker } from 'bullmq';
import { Redis } from 'ioredis';
import { migrateToLatest } from '../../src/adapters/sql/migrations.js';
import { openSqlite } from '../../src/adapters/sqlite/open-sqlite.js';
import { SqliteQueue } from '../../src/adapters/sqlite/sqlite-queue.js';
import type { Queue } from '../../src/platform/queue/types.js';
import { runWorker } from '../../src/platform/queue/worker.js';
import { BullmqQueue } from '../../src/adapters/bullmq/bullmq-queue.js';
import { describeMachine, machineLine } from '../lib/machine.js';
import { fmt, fmtInt, median, round } from '../lib/stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const JOBS = Number(process.env.BENCH_JOBS ?? 5000);
const DEPTH = Number(process.env.BENCH_DEPTH ?? 100_000);
const IN_FLIGHT = 50;
const CONCURRENCY = 50;
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

interface RoundResult {
  enqueuePerS: number;
  processPerS: number;
  endToEndPerS: number;
  /** Processed/s draining JOBS from a queue DEPTH deep (NaN when DEPTH is 0). */
  deepProcessPerS: number;
}

const chunks = (n: number): number[][] =>
  Array.from({ length: Math.ceil(n / 1000) }, (_, c) => Array.from({ length: Math.min(1000, n - c * 1000) }, (_, i) => c * 1000 + i));

async function pool(n: number, inFlight: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

function until(check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const tick = (): void => (check() ? resolve() : void setTimeout(tick, 1));
    tick();
  });
}

async function tnyRound(): Promise<RoundResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tny-bench-queue-'));
  const handle = openSqlite(join(dir, 'queue.db'));
  await migrateToLatest(handle.db, 'sqlite');
  const queue = new SqliteQueue(handle.db, handle.raw);
  try {
    return await portRound(queue);
  } finally {
    await queue.close();
    await handle.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** tny's BullMQ adapter: the same port calls as the SQLite round, on Redis (a fresh key prefix per round). */
async function tnyBullRound(): Promise<RoundResult> {
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new BullmqQueue(redis, { prefix });
  try {
    return await portRound(queue);
  } finally {
    await queue.close();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
  }
}

async function portRound(queue: Queue): Promise<RoundResult> {
  const t0 = performance.now();
  await pool(JOBS, IN_FLIGHT, (i) => queue.enqueue('bench', { i }));
  const t1 = performance.now();
  let done = 0;
  const worker = runWorker(queue, 'bench', () => {
    done += 1;
    return Promise.resolve();
  }, { concurrency: CONCURRENCY, waitMs: 1000 });
  await until(() => worker.stats.acked === JOBS);
  const t2 = performance.now();
  await worker.close();
  if (done !== JOBS) throw new Error(`tny processed ${done} of ${JOBS}`);
  let deep = Number.NaN;
  if (DEPTH > 0) {
    for (const chunk of chunks(DEPTH)) await queue.enqueueBatch('deep', chunk.map((i) => ({ payload: { i } })));
    const t3 = performance.now();
    const drain = runWorker(queue, 'deep', () => Promise.resolve(), { concurrency: CONCURRENCY, waitMs: 1000 });
    await until(() => drain.stats.acked >= JOBS);
    deep = (drain.stats.acked * 1000) / (performance.now() - t3);
    await drain.close();
  }
  return { ...rates(t0, t1, t2), deepProcessPerS: deep };
}

async function bullRound(): Promise<RoundResult> {
  const name = `bench-${randomBytes(4).toString('hex')}`;
  const producer = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const consumer = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new BullQueue(name, { connection: producer });
  try {
    const t0 = performance.now();
    await pool(JOBS, IN_FLIGHT, (i) => queue.add('job', { i }, { removeOnComplete: true, removeOnFail: true }));
    const t1 = performance.now();
    let done = 0;
    const worker = new BullWorker(name, () => {
      done += 1;
      return Promise.resolve();
    }, { connection: consumer, concurrency: CONCURRENCY });
    let completed = 0;
    worker.on('completed', () => (completed += 1));
    await until(() => completed === JOBS);
    const t2 = performance.now();
    await worker.close();
    if (done !== JOBS) throw new Error(`BullMQ processed ${done} of ${JOBS}`);
    let deep = Number.NaN;
    if (DEPTH > 0) {
      for (const chunk of chunks(DEPTH)) {
        await queue.addBulk(chunk.map((i) => ({ name: 'job', data: { i }, opts: { removeOnComplete: true, removeOnFail: true } })));
      }
      let drained = 0;
      const t3 = performance.now();
      const drain = new BullWorker(name, () => Promise.resolve(), { connection: consumer, concurrency: CONCURRENCY });
      drain.on('completed', () => (drained += 1));
      await until(() => drained >= JOBS);
      deep = (drained * 1000) / (performance.now() - t3);
      await drain.close();
    }
    return { ...rates(t0, t1, t2), deepProcessPerS: deep };
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
    producer.disconnect();
    consumer.disconnect();
  }
}

function rates(t0: number, t1: number, t2: number): Omit<RoundResult, 'deepProcessPerS'> {
  return { enqueuePerS: (JOBS * 1000) / (t1 - t0), processPerS: (JOBS * 1000) / (t2 - t1), endToEndPerS: (JOBS * 1000) / (t2 - t0) };
}

const subjects = [
  { name: 'tny-sqlite', run: tnyRound },
  { name: 'bullmq', run: bullRound },
  { name: 'tny-bullmq', run: tnyBullRound },
] as const;

async function main(): Promise<void> {
  const machine = describeMachine();
  const versions = {
    bullmq: (JSON.parse(readFileSync(join(root(), 'node_modules/bullmq/package.json'), 'utf8')) as { version: string }).version,
    redis: (await redisVersion()) ?? 'unknown',
  };
  console.log(`queue: ${JOBS} jobs per round, ${ROUNDS} rounds, ${IN_FLIGHT} enqueues in flight, worker concurrency ${CONCURRENCY}, depth ${DEPTH}`);
  console.log(`${machineLine(machine)}; BullMQ ${versions.bullmq}, Redis ${versions.redis}`);
  const results = new Map<string, RoundResult[]>(subjects.map((s) => [s.name, []]));
  await bullRound(); // warm-up: JIT, Lua script loading
  await tnyRound();
  await tnyBullRound();
  for (let r = 0; r < ROUNDS; r++) {
    const order = subjects.map((_, i) => subjects[(i + r) % subjects.length]!);
    for (const s of order) {
      const res = await s.run();
      results.get(s.name)?.push(res);
      console.log(`  round ${r + 1}/${ROUNDS} ${s.name.padEnd(10)} enqueue ${fmtInt(res.enqueuePerS).padStart(7)}/s  process ${fmtInt(res.processPerS).padStart(7)}/s  end-to-end ${fmtInt(res.endToEndPerS).padStart(7)}/s  process at depth ${fmtInt(res.deepProcessPerS).padStart(7)}/s`);
    }
  }
  const tny = results.get('tny-sqlite') ?? [];
  const bull = results.get('bullmq') ?? [];
  const adapter = results.get('tny-bullmq') ?? [];
  const metrics = ['enqueuePerS', 'processPerS', 'endToEndPerS', 'deepProcessPerS'] as const;
  const ratio = (a: RoundResult[], b: RoundResult[], m: (typeof metrics)[number]) => ({
    ratioOfMedians: round(median(a.map((x) => x[m])) / median(b.map((x) => x[m])), 2),
    medianPerRoundRatio: round(median(a.map((x, i) => x[m] / (b[i]?.[m] ?? Number.NaN))), 2),
  });
  const summary = Object.fromEntries(
    metrics.map((m) => [
      m,
      {
        tny: round(median(tny.map((x) => x[m])), 0),
        bullmq: round(median(bull.map((x) => x[m])), 0),
        tnyBullmq: round(median(adapter.map((x) => x[m])), 0),
        ...ratio(tny, bull, m),
        adapterVsBullmq: ratio(adapter, bull, m),
      },
    ]),
  );
  console.log('\nmedians (jobs/s)        tny-sqlite     bullmq tny-bullmq   tny-sqlite/bullmq (per round)   tny-bullmq/bullmq (per round)');
  for (const m of metrics) {
    const s = summary[m] as { tny: number; bullmq: number; tnyBullmq: number; ratioOfMedians: number; medianPerRoundRatio: number; adapterVsBullmq: { ratioOfMedians: number; medianPerRoundRatio: number } };
    console.log(
      `  ${m.padEnd(20)} ${fmtInt(s.tny).padStart(10)} ${fmtInt(s.bullmq).padStart(10)} ${fmtInt(s.tnyBullmq).padStart(10)}   ${`${fmt(s.ratioOfMedians)}× (${fmt(s.medianPerRoundRatio)}×)`.padEnd(30)}  ${fmt(s.adapterVsBullmq.ratioOfMedians)}× (${fmt(s.adapterVsBullmq.medianPerRoundRatio)}×)`,
    );
  }
  const file = join(root(), 'bench/results/notify-queue-latest.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(
    file,
    `${JSON.stringify({ benchmark: 'notify-queue', at: new Date().toISOString(), machine, versions, config: { jobs: JOBS, depth: DEPTH, rounds: ROUNDS, inFlight: IN_FLIGHT, concurrency: CONCURRENCY }, summary, rounds: Object.fromEntries(results) }, null, 2)}\n`,
  );
  console.log(`\nwrote ${file}`);
}

function root(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '../..');
}

async function redisVersion(): Promise<string | undefined> {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const info = await client.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1];
  } finally {
    client.disconnect();
  }
}

await main();

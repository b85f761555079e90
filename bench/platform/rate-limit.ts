/**
 * Rate limiting: tny's limiters against rate-limiter-flexible 11 in the same process, rounds
 * alternating the order of the subjects (A B … / … B A).
 *
 *   npx tsx bench/platform/rate-limit.ts
 *
 * Redis: each subject has its own ioredis connection to a private redis-server started for
 * the run (or BENCH_REDIS_URL; pinned to core 0 and this process to core 1 when taskset is
 * there), and keeps 64 checks in flight over 4,096 distinct keys for
 * BENCH_REDIS_MS per round; reported are checks/s, per-check latency p50/p99 and Redis
 * round trips per check (EVALSHA calls / checks, from INFO commandstats), Redis CPU per call
 * (commandstats) and this process's CPU per check (process.cpuUsage). Limits are 100 per
 * second per key, well above the ~10/s each key sees, so every check is admitted on both
 * sides (the same work each time; rate-limiter-flexible rejects a refused check with an
 * exception, which would penalise it).
 * Memory: awaited consume() over the same 4,096 keys, ns/op, against RateLimiterMemory.
 * Goal (issue 3): tny's Redis limiter at least matches rate-limiter-flexible's throughput
 * while exact. The machine is shared, so besides the ratio of medians each subject gets the
 * median of its per-round ratios (against rate-limiter-flexible in the same round), which
 * cancels drift between rounds. Knobs: BENCH_ROUNDS (9), BENCH_REDIS_MS (1000),
 * BENCH_MEMORY_OPS (400,000).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { systemClock } from '../../src/platform/clock.js';
import { createRateLimiter } from '../../src/platform/rate-limit/create-rate-limiter.js';
import { MemoryRateLimiter } from '../../src/platform/rate-limit/memory-rate-limiter.js';
import { RedisRateLimiter } from '../../src/platform/rate-limit/redis-rate-limiter.js';
import { StoreOutage } from '../../src/platform/rate-limit/store-outage.js';
import { RATE_LIMIT_ALGORITHMS, type RateLimitAlgorithm } from '../../src/platform/rate-limit/types.js';
import { describeMachine, machineLine } from '../lib/machine.js';
import { freePort, waitForPort } from '../lib/net.js';
import { pinned, pinning } from '../lib/process.js';
import { fmt, fmtInt, median, percentile, round } from '../lib/stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const REDIS_MS = Number(process.env.BENCH_REDIS_MS ?? 1000);
const MEMORY_OPS = Number(process.env.BENCH_MEMORY_OPS ?? 400_000);
const IN_FLIGHT = 64;
const KEYS = Array.from({ length: 4096 }, (_, i) => `user:${i}`);
const LIMIT = 100;
const WINDOW_MS = 1000;

interface Subject<C> {
  name: string;
  tny: boolean;
  check: (key: string) => Promise<unknown>;
  client?: C;
}

async function startRedis(): Promise<{ url: string; process?: ChildProcess }> {
  if (process.env.BENCH_REDIS_URL) return { url: process.env.BENCH_REDIS_URL };
  const port = await freePort();
  // With taskset and ≥ 2 cores, Redis gets core 0 and this process core 1 (as Redis on its own
  // host would): neither side's CPU is taken by the other (BENCH_PIN=0 turns it off).
  const [command, args] = pinned(pinning.serverCpu, 'redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1']);
  const child = spawn(command, args, { stdio: 'ignore' });
  if (pinning.enabled) spawnSync('taskset', ['-a', '-p', '-c', pinning.loadCpu, String(process.pid)], { stdio: 'ignore' });
  await waitForPort(port, '127.0.0.1', 10_000, () => child.exitCode === null);
  return { url: `redis://127.0.0.1:${port}`, process: child };
}

/** EVALSHA calls and the Redis CPU time they took (µs), from INFO commandstats. */
async function evalshaStats(admin: Redis): Promise<{ calls: number; usec: number }> {
  const info = await admin.info('commandstats');
  const m = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(info);
  return m ? { calls: Number(m[1]), usec: Number(m[2]) } : { calls: 0, usec: 0 };
}

interface RedisRound {
  checksPerSecond: number;
  p50Us: number;
  p99Us: number;
  roundTripsPerCheck: number;
  /** Redis CPU per EVALSHA (commandstats) and this process's CPU per check, µs. */
  redisUsPerCall: number;
  clientCpuUsPerCheck: number;
}

async function redisRound(subject: Subject<Redis>, admin: Redis): Promise<RedisRound> {
  const latencies: number[] = [];
  let next = 0;
  const before = await evalshaStats(admin);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const end = started + REDIS_MS;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < end) {
        const key = KEYS[next++ % KEYS.length] as string;
        const t0 = performance.now();
        await subject.check(key);
        latencies.push((performance.now() - t0) * 1000);
      }
    }),
  );
  const elapsed = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const after = await evalshaStats(admin);
  const calls = after.calls - before.calls;
  return {
    checksPerSecond: (latencies.length * 1000) / elapsed,
    p50Us: percentile(latencies, 50),
    p99Us: percentile(latencies, 99),
    roundTripsPerCheck: calls / latencies.length,
    redisUsPerCall: (after.usec - before.usec) / calls,
    clientCpuUsPerCheck: (cpu.user + cpu.system) / latencies.length,
  };
}

async function memoryRound(check: (key: string) => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < MEMORY_OPS; i++) await check(KEYS[i & 4095] as string);
  return Number(process.hrtime.bigint() - t0) / MEMORY_OPS;
}

function alternate<T>(items: T[], round: number): T[] {
  return round % 2 === 0 ? items : [...items].reverse();
}

const spread = (xs: number[], digits = 0) => `${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)}`;

async function main(): Promise<void> {
  const machine = describeMachine();
  console.log(`rate limiting: tny vs rate-limiter-flexible 11 — ${machineLine(machine)}`);
  const redisServer = await startRedis();
  const admin = new Redis(redisServer.url);
  const connection = () => new Redis(redisServer.url, { enableOfflineQueue: true, maxRetriesPerRequest: 1 });
  const prefix = `bench:rl:${Date.now()}:`;

  const redisSubjects: Subject<Redis>[] = [];
  let fallbacks = 0;
  const tnyRedis = (algorithm: RateLimitAlgorithm) => {
    const client = connection();
    const limiter = new RedisRateLimiter({ algorithm, limit: LIMIT, windowMs: WINDOW_MS }, { client, prefix: `${prefix}${algorithm}:` });
    redisSubjects.push({ name: `tny ${algorithm}`, tny: true, client, check: (key) => limiter.consume(key) });
  };
  for (const algorithm of RATE_LIMIT_ALGORITHMS) tnyRedis(algorithm);
  {
    // As the container wires it: behind the failure policy and its per-check timer. The
    // timeout is long here so that a loaded machine does not turn checks into local ones;
    // any check the policy decided is counted and reported.
    const client = connection();
    const limiter = createRateLimiter(
      { algorithm: 'token-bucket', limit: LIMIT, windowMs: WINDOW_MS },
      {
        clock: systemClock,
        maxKeys: 100_000,
        shared: {
          client,
          prefix: `${prefix}wired:`,
          policy: 'local',
          outage: new StoreOutage({ clock: systemClock, probeIntervalMs: 1000 }),
          timeoutMs: 10_000,
          onFailure: () => fallbacks++,
        },
      },
    );
    redisSubjects.push({ name: 'tny token-bucket + failover', tny: true, client, check: (key) => limiter.consume(key) });
  }
  {
    const client = connection();
    const rlf = new RateLimiterRedis({ storeClient: client, points: LIMIT, duration: WINDOW_MS / 1000, keyPrefix: `${prefix}rlf` });
    redisSubjects.push({ name: 'rate-limiter-flexible Redis', tny: false, client, check: (key) => rlf.consume(key) });
  }

  const memorySubjects: Subject<never>[] = [];
  for (const algorithm of RATE_LIMIT_ALGORITHMS) {
    // A limit no key reaches here (~100 checks per key per round): every check is admitted.
    const limiter = new MemoryRateLimiter({ algorithm, limit: 1_000_000, windowMs: WINDOW_MS }, { clock: systemClock, maxKeys: 100_000 });
    memorySubjects.push({ name: `tny ${algorithm}`, tny: true, check: (key) => limiter.consume(key) });
  }
  {
    const rlf = new RateLimiterMemory({ points: 1_000_000, duration: WINDOW_MS / 1000 });
    memorySubjects.push({ name: 'rate-limiter-flexible Memory', tny: false, check: (key) => rlf.consume(key) });
  }

  // Warm up: load scripts, JIT both sides.
  for (const s of redisSubjects) for (let i = 0; i < 2000; i++) await s.check(KEYS[i % KEYS.length] as string);
  for (const s of memorySubjects) await memoryRound(s.check);

  const redisResults = new Map<string, RedisRound[]>(redisSubjects.map((s) => [s.name, []]));
  const memoryResults = new Map<string, number[]>(memorySubjects.map((s) => [s.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of alternate(redisSubjects, r)) {
      const res = await redisRound(s, admin);
      redisResults.get(s.name)?.push(res);
      console.log(`  round ${r + 1}/${ROUNDS} ${s.name.padEnd(30)} ${fmtInt(res.checksPerSecond).padStart(7)} checks/s  p50 ${fmt(res.p50Us, 0)} µs  p99 ${fmt(res.p99Us, 0)} µs  ${fmt(res.roundTripsPerCheck, 2)} EVALSHA/check  Redis ${fmt(res.redisUsPerCall, 1)} µs/call  client ${fmt(res.clientCpuUsPerCheck, 1)} µs/check`);
    }
    for (const s of alternate(memorySubjects, r)) memoryResults.get(s.name)?.push(await memoryRound(s.check));
  }

  const baselineRedis = redisResults.get('rate-limiter-flexible Redis') ?? [];
  const baseRps = median(baselineRedis.map((x) => x.checksPerSecond));
  console.log(`\nRedis, ${IN_FLIGHT} in flight, ${KEYS.length} keys: medians of ${ROUNDS} rounds [range]; ratio = tny / rate-limiter-flexible`);
  const redisSummary = redisSubjects.map((s) => {
    const rs = redisResults.get(s.name) ?? [];
    const rps = rs.map((x) => x.checksPerSecond);
    const summary = {
      name: s.name,
      checksPerSecond: round(median(rps), 0),
      roundsChecksPerSecond: rps.map((x) => round(x, 0)),
      p50Us: round(median(rs.map((x) => x.p50Us)), 0),
      p99Us: round(median(rs.map((x) => x.p99Us)), 0),
      roundTripsPerCheck: round(median(rs.map((x) => x.roundTripsPerCheck)), 3),
      redisUsPerCall: round(median(rs.map((x) => x.redisUsPerCall)), 2),
      clientCpuUsPerCheck: round(median(rs.map((x) => x.clientCpuUsPerCheck)), 2),
      ratio: round(median(rps) / baseRps, 3),
      medianRoundRatio: round(median(rps.map((x, i) => x / (baselineRedis[i]?.checksPerSecond ?? Number.NaN))), 3),
    };
    console.log(`  ${s.name.padEnd(30)} ${fmtInt(summary.checksPerSecond).padStart(7)} checks/s [${spread(rps)}]  p50 ${summary.p50Us} µs  p99 ${summary.p99Us} µs  ${fmt(summary.roundTripsPerCheck, 2)} RTT/check  Redis ${fmt(summary.redisUsPerCall, 1)} µs/call  client ${fmt(summary.clientCpuUsPerCheck, 1)} µs/check  ratio ${fmt(summary.ratio, 2)} (per round ${fmt(summary.medianRoundRatio, 2)})`);
    return summary;
  });

  const baseNs = median(memoryResults.get('rate-limiter-flexible Memory') ?? []);
  console.log(`\nmemory, awaited consume(), ${KEYS.length} keys: ns/op, medians of ${ROUNDS} rounds [range]; ratio = rate-limiter-flexible ns / tny ns (> 1: tny faster)`);
  const memorySummary = memorySubjects.map((s) => {
    const ns = memoryResults.get(s.name) ?? [];
    const summary = { name: s.name, nsPerOp: round(median(ns), 1), roundsNsPerOp: ns.map((x) => round(x, 1)), speedRatio: round(baseNs / median(ns), 3) };
    console.log(`  ${s.name.padEnd(30)} ${fmt(summary.nsPerOp, 0).padStart(6)} ns/op [${spread(ns)}]  ratio ${fmt(summary.speedRatio, 2)}`);
    return summary;
  });

  if (fallbacks > 0) console.log(`\nWARNING: ${fallbacks} checks of "tny token-bucket + failover" were decided locally (Redis slower than 10 s)`);
  const tb = redisSummary.find((s) => s.name === 'tny token-bucket');
  const goal = {
    name: 'tny Redis token-bucket checks/s ≥ rate-limiter-flexible Redis',
    ratio: tb?.ratio ?? Number.NaN,
    medianRoundRatio: tb?.medianRoundRatio ?? Number.NaN,
    pass: (tb?.ratio ?? 0) >= 1 && (tb?.medianRoundRatio ?? 0) >= 1,
  };
  console.log(`\n${goal.pass ? 'PASS' : 'MISS'}  ${goal.name}: ratio ${fmt(goal.ratio, 2)}, per round ${fmt(goal.medianRoundRatio, 2)}`);

  const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
  const file = join(root, 'bench/results/platform-rate-limit-latest.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(
    file,
    JSON.stringify(
      {
        benchmark: 'platform-rate-limit',
        date: new Date().toISOString(),
        machine,
        settings: { rounds: ROUNDS, redisMsPerRound: REDIS_MS, inFlight: IN_FLIGHT, keys: KEYS.length, limit: LIMIT, windowMs: WINDOW_MS, memoryOps: MEMORY_OPS, redis: redisServer.process ? 'private redis-server' : 'BENCH_REDIS_URL', pinning },
        redis: redisSummary,
        memory: memorySummary,
        goal,
        failoverLocalDecisions: fallbacks,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`results: ${file}`);

  for (const s of redisSubjects) s.client?.disconnect();
  admin.disconnect();
  redisServer.process?.kill();
}

await main();

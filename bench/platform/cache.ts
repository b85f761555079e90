/**
 * The redirect cache's building blocks against their baselines, in one process, rounds
 * alternating A B / B A:
 *
 *   npx tsx bench/platform/cache.ts          (REDIS_URL, default redis://127.0.0.1:6379)
 *
 * - L1 hit: tny's LinkCache.peek (the redirect hot path: a LocalCache.get with its expiry check)
 *   against a bare lru-cache `get` (no expiry) on the same keys and values. Goal: within 1.5×.
 * - L2 hit: StampedeGuard.get over Redis (one EVALSHA of the probe script + JSON.parse + the
 *   XFetch decision) against a bare ioredis GET + JSON.parse, one request at a time; median and
 *   p99 latency.
 * - Bloom filter check: BloomFilter.mightContain on a filter of 1,000,000 keys at p = 0.01,
 *   against Set.has on the same keys (exact, but ~30× the memory even without counting the
 *   strings), for present and absent keys.
 *
 * Knobs: BENCH_ROUNDS (11), BENCH_L1_OPS (2,000,000 per round), BENCH_L2_OPS (2,000 per round),
 * BENCH_BLOOM_KEYS (1,000,000).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { BloomFilter } from '../../src/platform/cache/bloom-filter.js';
import { RedisGuardStore } from '../../src/platform/cache/redis-guard-store.js';
import { StampedeGuard } from '../../src/platform/cache/stampede-guard.js';
import { systemClock } from '../../src/platform/clock.js';
import type { Link } from '../../src/shortener/link.js';
import { createLinkCache } from '../../src/shortener/link-cache.js';
import { describeMachine, machineLine } from '../lib/machine.js';
import { fmt, median, percentile, round } from '../lib/stats.js';
import { seededKeys } from '../lib/keys.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 11);
const L1_OPS = Number(process.env.BENCH_L1_OPS ?? 2_000_000);
const L2_OPS = Number(process.env.BENCH_L2_OPS ?? 2_000);
const BLOOM_KEYS = Number(process.env.BENCH_BLOOM_KEYS ?? 1_000_000);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const L1_KEYS = 10_000;
const GOAL_L1_RATIO = 1.5;


const keys = seededKeys;

const link = (key: string, id: number): Link => ({
  id, key, url: `https://example.com/articles/${key}?utm_source=tny`, accountId: 1, createdAt: 0, updatedAt: 0,
  expiresAt: null, maxClicks: null, clickCount: 0, redirectStatus: 302, passwordHash: null, tags: ['bench'],
  forwardQuery: false, disabled: false,
});

/** ns per call of `get` over `ops` lookups cycling through `keys`; the checksum defeats dead-code elimination. */
function nsPerOp(get: (key: string) => Link | undefined, keyList: readonly string[], ops: number): { ns: number; checksum: number } {
  let checksum = 0;
  const n = keyList.length;
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) checksum += get(keyList[i % n]!)!.id;
  return { ns: Number(process.hrtime.bigint() - start) / ops, checksum };
}

function nsPerCheck(check: (key: string) => boolean, keyList: readonly string[]): { ns: number; positives: number } {
  let positives = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < keyList.length; i++) if (check(keyList[i]!)) positives++;
  return { ns: Number(process.hrtime.bigint() - start) / keyList.length, positives };
}

/** Alternates A B / B A over the rounds; returns each one's per-round values. */
async function alternate<T>(names: [string, string], run: (name: string) => Promise<T> | T): Promise<Record<string, T[]>> {
  const out: Record<string, T[]> = { [names[0]]: [], [names[1]]: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of r % 2 === 0 ? names : [names[1], names[0]]) out[name]!.push(await run(name));
  }
  return out;
}

async function benchL1() {
  const keyList = keys(L1_KEYS, 1);
  const rows = new Map(keyList.map((k, i) => [k, link(k, i + 1)]));
  // The redirect cache as `tny serve` builds it without Redis; peek() is the hot path's call.
  const tny = await createLinkCache({
    links: { findByKey: async (k) => rows.get(k), listKeys: async () => [] },
    clock: systemClock,
    maxEntries: L1_KEYS * 2,
    options: { ttlMs: 3_600_000, jitter: 0.1, negativeTtlMs: 5_000 },
    onError: () => undefined,
  });
  const bare = new LRUCache<string, Link>({ max: L1_KEYS * 2 });
  for (const [k, row] of rows) {
    await tny.get(k); // a miss: loads and fills L1
    bare.set(k, row);
  }
  const subjects: Record<string, (k: string) => Link | undefined> = {
    'tny LinkCache.peek': (k) => tny.peek(k) as Link | undefined,
    'lru-cache get': (k) => bare.get(k),
  };
  for (const get of Object.values(subjects)) nsPerOp(get, keyList, L1_OPS / 4); // warm-up (JIT)
  const rounds = await alternate(['tny LinkCache.peek', 'lru-cache get'], (name) => nsPerOp(subjects[name]!, keyList, L1_OPS).ns);
  const t = median(rounds['tny LinkCache.peek']!);
  const b = median(rounds['lru-cache get']!);
  // Each round runs both back to back: the median of the per-round ratios cancels machine drift.
  const ratio = median(rounds['tny LinkCache.peek']!.map((x, i) => x / rounds['lru-cache get']![i]!));
  return { tnyNs: t, baselineNs: b, ratio, rounds, goal: `≤ ${GOAL_L1_RATIO}×`, pass: ratio <= GOAL_L1_RATIO };
}

async function benchL2() {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  await redis.ping();
  const prefix = `tnybench:${process.pid}:`;
  const store = new RedisGuardStore<Link>(redis, prefix);
  const guard = new StampedeGuard<Link>({
    store,
    load: async (k) => link(k, 1),
    clock: systemClock,
    ttlMs: () => 3_600_000,
    staleMs: 60_000,
    leaseTtlMs: 2000,
    beta: 1,
  });
  const keyList = keys(1000, 2);
  for (const k of keyList) {
    await guard.get(k); // fills the L2 entry (a Stamped<Link> as JSON)
    await redis.set(`${prefix}bare:${k}`, JSON.stringify(link(k, 1)), 'PX', 3_600_000);
  }
  const once = async (name: string, k: string) =>
    name === 'tny L2 (guard, EVALSHA)' ? (await guard.get(k)).value.id : (JSON.parse((await redis.get(`${prefix}bare:${k}`))!) as Link).id;
  const latencies = async (name: string) => {
    const us: number[] = [];
    for (let i = 0; i < L2_OPS; i++) {
      const start = process.hrtime.bigint();
      await once(name, keyList[i % keyList.length]!);
      us.push(Number(process.hrtime.bigint() - start) / 1000);
    }
    return { p50: median(us), p99: percentile(us, 99) };
  };
  for (const name of ['tny L2 (guard, EVALSHA)', 'ioredis GET + JSON.parse']) await latencies(name); // warm-up
  const rounds = await alternate(['tny L2 (guard, EVALSHA)', 'ioredis GET + JSON.parse'], latencies);
  const summary = (name: string) => ({ p50Us: median(rounds[name]!.map((r) => r.p50)), p99Us: median(rounds[name]!.map((r) => r.p99)) });
  const t = summary('tny L2 (guard, EVALSHA)');
  const b = summary('ioredis GET + JSON.parse');
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (found.length > 0) await redis.del(...found);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
  return { tny: t, baseline: b, p50Ratio: t.p50Us / b.p50Us, p99Ratio: t.p99Us / b.p99Us, hitsServed: guard.stats().hits, loads: guard.stats().loads };
}

async function benchBloom() {
  const present = keys(BLOOM_KEYS, 3);
  const heapBefore = process.memoryUsage().heapUsed;
  const set = new Set(present);
  const setBytes = process.memoryUsage().heapUsed - heapBefore;
  const absent = keys(220_000, 4).filter((k) => !set.has(k)).slice(0, 200_000);
  const filter = new BloomFilter(BLOOM_KEYS, 0.01);
  for (const k of present) filter.add(k);
  const presentSample = present.slice(0, 200_000);
  const check: Record<string, (k: string) => boolean> = { 'tny Bloom mightContain': (k) => filter.mightContain(k), 'Set.has': (k) => set.has(k) };
  for (const fn of Object.values(check)) nsPerCheck(fn, absent); // warm-up
  const rounds = await alternate(['tny Bloom mightContain', 'Set.has'], (name) => ({
    absent: nsPerCheck(check[name]!, absent),
    present: nsPerCheck(check[name]!, presentSample),
  }));
  const med = (name: string, which: 'absent' | 'present') => median(rounds[name]!.map((r) => r[which].ns));
  const falsePositives = rounds['tny Bloom mightContain']![0]!.absent.positives;
  return {
    keys: BLOOM_KEYS,
    falsePositiveRate: falsePositives / absent.length,
    bloomBytes: filter.byteLength,
    setBytesApprox: setBytes,
    absentNs: { tny: med('tny Bloom mightContain', 'absent'), set: med('Set.has', 'absent') },
    presentNs: { tny: med('tny Bloom mightContain', 'present'), set: med('Set.has', 'present') },
  };
}

const machine = describeMachine();
console.log(`cache benchmark — ${machineLine(machine)}; load average ${machine.loadAverage.join(' ')}; ${ROUNDS} rounds, medians`);

const l1 = await benchL1();
console.log(`\nL1 hit (${L1_KEYS.toLocaleString('en-US')} keys, ${L1_OPS.toLocaleString('en-US')} lookups per round)`);
console.log(`  tny LinkCache.peek  ${fmt(l1.tnyNs, 1)} ns/op   rounds ${l1.rounds['tny LinkCache.peek']!.map((x) => fmt(x, 1)).join(' ')}`);
console.log(`  lru-cache get       ${fmt(l1.baselineNs, 1)} ns/op   rounds ${l1.rounds['lru-cache get']!.map((x) => fmt(x, 1)).join(' ')}`);
console.log(`  ${l1.pass ? 'PASS' : 'MISS'}  ratio ${fmt(l1.ratio)}× (median of the per-round ratios; goal ${l1.goal})`);

let l2: Awaited<ReturnType<typeof benchL2>> | { error: string };
try {
  l2 = await benchL2();
  console.log(`\nL2 hit over Redis (${REDIS_URL.replace(/\/\/.*@/, '//')}; one request at a time, ${L2_OPS.toLocaleString('en-US')} per round)`);
  console.log(`  tny L2 (guard, EVALSHA)   p50 ${fmt(l2.tny.p50Us, 1)} µs   p99 ${fmt(l2.tny.p99Us, 1)} µs`);
  console.log(`  ioredis GET + JSON.parse  p50 ${fmt(l2.baseline.p50Us, 1)} µs   p99 ${fmt(l2.baseline.p99Us, 1)} µs`);
  console.log(`  ratio p50 ${fmt(l2.p50Ratio)}×, p99 ${fmt(l2.p99Ratio)}×  (${l2.loads} loads for ${l2.hitsServed} hits)`);
} catch (err) {
  l2 = { error: err instanceof Error ? err.message : String(err) };
  console.log(`\nL2 hit: not measured (${l2.error})`);
}

const bloom = await benchBloom();
console.log(`\nBloom filter, ${bloom.keys.toLocaleString('en-US')} keys at p = 0.01: ${(bloom.bloomBytes / 1e6).toFixed(2)} MB (Set of the same keys ≈ ${(bloom.setBytesApprox / 1e6).toFixed(0)} MB), measured false positives ${(bloom.falsePositiveRate * 100).toFixed(2)}%`);
console.log(`  absent key:  mightContain ${fmt(bloom.absentNs.tny, 1)} ns   Set.has ${fmt(bloom.absentNs.set, 1)} ns   ratio ${fmt(bloom.absentNs.tny / bloom.absentNs.set)}×`);
console.log(`  present key: mightContain ${fmt(bloom.presentNs.tny, 1)} ns   Set.has ${fmt(bloom.presentNs.set, 1)} ns   ratio ${fmt(bloom.presentNs.tny / bloom.presentNs.set)}×`);

const file = join(dirname(fileURLToPath(import.meta.url)), '../results/platform-cache-latest.json');
mkdirSync(dirname(file), { recursive: true });
const r2 = (x: number) => round(x, 2);
writeFileSync(
  file,
  `${JSON.stringify(
    {
      benchmark: 'platform-cache',
      date: new Date().toISOString(),
      machine,
      rounds: ROUNDS,
      l1: { ...l1, tnyNs: r2(l1.tnyNs), baselineNs: r2(l1.baselineNs), ratio: r2(l1.ratio) },
      l2,
      bloom,
    },
    null,
    2,
  )}\n`,
);
console.log(`\nwrote ${file}`);

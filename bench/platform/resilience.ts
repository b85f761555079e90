/**
 * Resilience policies: the overhead each adds to a successful call, tny against cockatiel 4
 * and opossum 10, in the same process, rounds alternating the order of the subjects.
 *
 *   npx tsx bench/platform/resilience.ts
 *
 * Every subject awaits `calls` sequential calls of the same no-op async function; a round
 * measures the bare `await noop()` loop too, and a subject's overhead is its ns/op minus the
 * bare ns/op of that round. Figures are medians over the rounds (the range in brackets).
 * Goal: tny's breaker and retry add < 1 µs per successful call.
 *
 * The timeout rows are context: a per-call AbortSignal costs ~2 µs to make in Node 20, so
 * they are shown with a call that ignores its signal (tny makes it lazily, on first read;
 * opossum makes none) and with one that reads it (as a fetch would).
 * Knobs: BENCH_ROUNDS (7), BENCH_CALLS (200,000 per subject per round).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as cockatiel from 'cockatiel';
import Opossum from 'opossum';
import { systemClock } from '../../src/platform/clock.js';
import { circuitBreaker } from '../../src/platform/resilience/circuit-breaker.js';
import { retry } from '../../src/platform/resilience/retry.js';
import { RetryBudget } from '../../src/platform/resilience/retry-budget.js';
import { timeout } from '../../src/platform/resilience/timeout.js';
import { wrap } from '../../src/platform/resilience/wrap.js';
import { describeMachine, machineLine } from '../lib/machine.js';
import { fmt, median, round } from '../lib/stats.js';
import { createRequire } from 'node:module';

/** The installed version of a package (from its package.json). */
function versionOf(name: string): string {
  return (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const CALLS = Number(process.env.BENCH_CALLS ?? 200_000);
const GOAL_NS = 1000;

let sink = 0;
const noop = async (): Promise<number> => 1;
/** A no-op that reads its signal, as a real call passing it to fetch would. */
const readsSignal = async (ctx: { signal: AbortSignal }): Promise<number> => (ctx.signal.aborted ? 0 : 1);

interface Subject {
  name: string;
  /** Which comparison it belongs to (null: the bare loop). */
  group: 'breaker' | 'retry' | 'breaker+timeout' | 'breaker+timeout+signal' | null;
  call: () => Promise<number>;
}

const tnyBreaker = circuitBreaker({ clock: systemClock, consecutiveFailures: 5 });
const tnyBreakerRate = circuitBreaker({
  clock: systemClock,
  consecutiveFailures: 5,
  failureRate: { threshold: 0.5, minimumCalls: 20, window: { type: 'time', ms: 10_000, buckets: 10 } },
  slowCallMs: 5000,
});
const tnyRetry = retry({ maxAttempts: 3 });
const tnyRetryBudget = retry({ maxAttempts: 3, budget: new RetryBudget({ clock: systemClock }) });
const tnyBreakerTimeout = wrap(circuitBreaker({ clock: systemClock, consecutiveFailures: 5 }), timeout(10_000));

const cBreaker = cockatiel.circuitBreaker(cockatiel.handleAll, { halfOpenAfter: 30_000, breaker: new cockatiel.ConsecutiveBreaker(5) });
const cRetry = cockatiel.retry(cockatiel.handleAll, { maxAttempts: 2, backoff: new cockatiel.ExponentialBackoff() });
const cBreakerTimeout = cockatiel.wrap(
  cockatiel.circuitBreaker(cockatiel.handleAll, { halfOpenAfter: 30_000, breaker: new cockatiel.ConsecutiveBreaker(5) }),
  cockatiel.timeout(10_000, cockatiel.TimeoutStrategy.Aggressive),
);

const oNoTimeout = new Opossum(noop, { timeout: false });
const oDefault = new Opossum(noop); // timeout 10 s: arms a timer per call

const subjects: Subject[] = [
  { name: 'bare await', group: null, call: noop },
  { name: 'tny breaker (5 consecutive)', group: 'breaker', call: () => tnyBreaker.execute(noop) },
  { name: 'tny breaker (+ 10 s rate window, slow calls)', group: 'breaker', call: () => tnyBreakerRate.execute(noop) },
  { name: 'cockatiel breaker (5 consecutive)', group: 'breaker', call: () => cBreaker.execute(noop) },
  { name: 'opossum (timeout: false)', group: 'breaker', call: () => oNoTimeout.fire() },
  { name: 'tny retry (3 attempts)', group: 'retry', call: () => tnyRetry.execute(noop) },
  { name: 'tny retry (3 attempts + budget)', group: 'retry', call: () => tnyRetryBudget.execute(noop) },
  { name: 'cockatiel retry (2 retries)', group: 'retry', call: () => cRetry.execute(noop) },
  { name: 'tny wrap(breaker, timeout 10 s)', group: 'breaker+timeout', call: () => tnyBreakerTimeout.execute(noop) },
  { name: 'cockatiel wrap(breaker, timeout 10 s)', group: 'breaker+timeout', call: () => cBreakerTimeout.execute(noop) },
  { name: 'opossum (default: timeout 10 s)', group: 'breaker+timeout', call: () => oDefault.fire() },
  { name: 'tny wrap(breaker, timeout), call reads signal', group: 'breaker+timeout+signal', call: () => tnyBreakerTimeout.execute(readsSignal) },
  { name: 'cockatiel wrap(breaker, timeout), call reads signal', group: 'breaker+timeout+signal', call: () => cBreakerTimeout.execute(readsSignal) },
];

async function nsPerOp(subject: Subject, calls: number): Promise<number> {
  const { call } = subject;
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) sink += await call();
  return Number(process.hrtime.bigint() - start) / calls;
}

const spread = (xs: number[]) => `${fmt(Math.min(...xs), 0)}–${fmt(Math.max(...xs), 0)}`;

async function main(): Promise<void> {
  const machine = describeMachine();
  console.log(`resilience policy overhead — ${machineLine(machine)}`);
  console.log(`${CALLS.toLocaleString('en-US')} sequential successful calls per subject per round, ${ROUNDS} rounds\n`);
  for (const s of subjects) await nsPerOp(s, Math.min(CALLS, 50_000)); // JIT warm-up

  const overhead = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
  const bare: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? subjects : [...subjects].reverse();
    const raw = new Map<string, number>();
    for (const s of order) raw.set(s.name, await nsPerOp(s, CALLS));
    const base = raw.get('bare await') as number;
    bare.push(base);
    for (const s of subjects) overhead.get(s.name)?.push((raw.get(s.name) as number) - base);
    console.log(`  round ${r + 1}/${ROUNDS}: bare ${fmt(base, 0)} ns/op; overhead ${subjects.slice(1).map((s) => `${s.name.split(' (')[0]} ${fmt(overhead.get(s.name)?.at(-1) ?? NaN, 0)}`).join(', ')}`);
  }

  const med = (name: string) => median(overhead.get(name) ?? []);
  console.log(`\noverhead per successful call, ns (median of ${ROUNDS} rounds, range in brackets); bare await ${fmt(median(bare), 0)} ns/op`);
  const rows = subjects.slice(1).map((s) => {
    const o = overhead.get(s.name) ?? [];
    console.log(`  ${s.name.padEnd(52)} ${fmt(median(o), 0).padStart(6)}  [${spread(o)}]`);
    return { name: s.name, group: s.group, overheadNs: round(median(o), 1), roundsNs: o.map((x) => round(x, 1)) };
  });

  const ratios = {
    breakerVsCockatiel: med('cockatiel breaker (5 consecutive)') / med('tny breaker (5 consecutive)'),
    breakerVsOpossum: med('opossum (timeout: false)') / med('tny breaker (5 consecutive)'),
    retryVsCockatiel: med('cockatiel retry (2 retries)') / med('tny retry (3 attempts)'),
    breakerTimeoutVsCockatiel: med('cockatiel wrap(breaker, timeout 10 s)') / med('tny wrap(breaker, timeout 10 s)'),
    breakerTimeoutVsOpossum: med('opossum (default: timeout 10 s)') / med('tny wrap(breaker, timeout 10 s)'),
    breakerTimeoutSignalVsCockatiel: med('cockatiel wrap(breaker, timeout), call reads signal') / med('tny wrap(breaker, timeout), call reads signal'),
  };
  console.log('\nratios (baseline overhead / tny overhead; > 1 means tny adds less)');
  console.log(`  breaker:           cockatiel ${fmt(ratios.breakerVsCockatiel)}×, opossum (no timeout) ${fmt(ratios.breakerVsOpossum)}×`);
  console.log(`  retry:             cockatiel ${fmt(ratios.retryVsCockatiel)}×`);
  console.log(`  breaker + timeout: cockatiel ${fmt(ratios.breakerTimeoutVsCockatiel)}×, opossum (default) ${fmt(ratios.breakerTimeoutVsOpossum)}×`);
  console.log(`  breaker + timeout, the call reads its signal: cockatiel ${fmt(ratios.breakerTimeoutSignalVsCockatiel)}× (opossum hands no per-call signal)`);

  const goals = ['tny breaker (5 consecutive)', 'tny retry (3 attempts)', 'tny retry (3 attempts + budget)'].map((name) => {
    const value = med(name);
    const pass = value < GOAL_NS;
    console.log(`${pass ? 'PASS' : 'MISS'}  ${name}: ${fmt(value, 0)} ns overhead per call (goal < ${GOAL_NS} ns)`);
    return { name, target: `< ${GOAL_NS} ns`, value: round(value, 1), pass };
  });

  oNoTimeout.shutdown();
  oDefault.shutdown();

  const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
  const file = join(root, 'bench/results/platform-resilience-latest.json');
  mkdirSync(dirname(file), { recursive: true });
  const result = {
    benchmark: 'platform-resilience',
    date: new Date().toISOString(),
    machine,
    settings: { rounds: ROUNDS, callsPerSubjectPerRound: CALLS, baselines: `cockatiel ${versionOf('cockatiel')}, opossum ${versionOf('opossum')}` },
    bareAwaitNsPerOp: round(median(bare), 1),
    overhead: rows,
    ratios: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, round(v, 2)])),
    goals,
  };
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(`results: ${file}${sink < 0 ? '' : ''}`);
}

await main();

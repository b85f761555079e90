/**
 * Consistent hashing: tny's HashRing against the `hashring` npm package (MD5, ketama-style
 * continuum of objects, 5,000-entry LRU in front of lookups) with the same nodes and the same
 * number of points per node, in the same process, rounds alternating A B / B A.
 *
 *   npx tsx bench/platform/hashing.ts
 *
 * Lookups use cold keys: one pass over a large array of distinct random keys per round, so
 * hashring's LRU (and any CPU cache of recent keys) does not help either side. Rebuild is the
 * time to build a 100-node ring from scratch and to add a 101st node to it.
 * Knobs: BENCH_ROUNDS (7), BENCH_KEYS (1,000,000), BENCH_REBUILDS (20 per round).
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import HashRingBaseline from 'hashring';
import { HashRing } from '../../src/platform/hashing/hash-ring.js';
import { jumpHashString } from '../../src/platform/hashing/jump-hash.js';
import { murmur3_32String } from '../../src/platform/hashing/murmur3.js';
import { describeMachine, machineLine } from '../lib/machine.js';
import { fmt, median, round } from '../lib/stats.js';
import { seededKeys } from '../lib/keys.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const KEY_COUNT = Number(process.env.BENCH_KEYS ?? 1_000_000);
const REBUILDS = Number(process.env.BENCH_REBUILDS ?? 20);
const VNODES = 150;
const GOAL_RATIO = 5;


const coldKeys = (count: number): string[] => seededKeys(count, 0x9e3779b9);

const nodeIds = (n: number) => Array.from({ length: n }, (_, i) => `10.0.${i >> 8}.${i & 255}:5432`);

/** hashring with exactly VNODES points per node: per-server vnodes, one point per MD5 digest. */
function baselineRing(ids: string[]): HashRingBaseline {
  const servers = Object.fromEntries(ids.map((id) => [id, { vnodes: VNODES }]));
  return new HashRingBaseline(servers, 'md5', { replicas: 1 });
}

interface Subject {
  name: string;
  lookup: (key: string) => string | undefined;
}

/** ns per lookup over one pass of `keys`; the checksum keeps the loop from being optimised away. */
function timeLookups(subject: Subject, keys: readonly string[]): { nsPerOp: number; checksum: number } {
  let checksum = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < keys.length; i++) checksum += subject.lookup(keys[i]!)!.length;
  const elapsed = Number(process.hrtime.bigint() - start);
  return { nsPerOp: elapsed / keys.length, checksum };
}

function timeMs(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

interface LookupScenario {
  nodes: number;
  tny: number[];
  baseline: number[];
}

function lookupScenario(nodes: number, keys: readonly string[]): LookupScenario {
  const ids = nodeIds(nodes);
  const tnyRing = new HashRing(ids, { vnodes: VNODES });
  const base = baselineRing(ids);
  // hashring's continuum is not in its type declarations.
  const basePoints = (base as unknown as { ring: unknown[] }).ring.length;
  if (tnyRing.pointCount !== basePoints) throw new Error(`point counts differ: ${tnyRing.pointCount} vs ${basePoints}`);
  const subjects: Subject[] = [
    { name: 'tny', lookup: (k) => tnyRing.lookup(k) },
    { name: 'hashring', lookup: (k) => base.get(k) },
  ];
  // Warm-up pass each (JIT), not recorded.
  for (const s of subjects) timeLookups(s, keys.slice(0, 100_000));
  const out: LookupScenario = { nodes, tny: [], baseline: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? subjects : [...subjects].reverse();
    for (const s of order) {
      const { nsPerOp } = timeLookups(s, keys);
      (s.name === 'tny' ? out.tny : out.baseline).push(nsPerOp);
    }
    console.log(`  ${nodes} nodes, round ${r + 1}/${ROUNDS}: tny ${fmt(out.tny.at(-1)!, 1)} ns/op, hashring ${fmt(out.baseline.at(-1)!, 1)} ns/op`);
  }
  return out;
}

interface RebuildScenario {
  buildTny: number[];
  buildBaseline: number[];
  addTny: number[];
  addBaseline: number[];
}

function rebuildScenario(): RebuildScenario {
  const ids = nodeIds(101);
  const hundred = ids.slice(0, 100);
  const extra = ids[100]!;
  const out: RebuildScenario = { buildTny: [], buildBaseline: [], addTny: [], addBaseline: [] };
  const tny = () => {
    const build = timeMs(() => new HashRing(hundred, { vnodes: VNODES }).lookup('k'));
    const ring = new HashRing(hundred, { vnodes: VNODES });
    ring.lookup('k');
    // The lookup after add() pays the lazy rebuild.
    const add = timeMs(() => {
      ring.add(extra);
      ring.lookup('k');
    });
    return { build, add };
  };
  const baseline = () => {
    const build = timeMs(() => baselineRing(hundred).get('k'));
    const ring = baselineRing(hundred);
    const add = timeMs(() => {
      ring.add({ [extra]: { vnodes: VNODES } });
      ring.get('k');
    });
    return { build, add };
  };
  for (let i = 0; i < 3; i++) {
    tny();
    baseline();
  }
  for (let r = 0; r < ROUNDS; r++) {
    const roundTny = { build: [] as number[], add: [] as number[] };
    const roundBase = { build: [] as number[], add: [] as number[] };
    for (let i = 0; i < REBUILDS; i++) {
      const pair = (r + i) % 2 === 0 ? ([tny, baseline] as const) : ([baseline, tny] as const);
      for (const fn of pair) {
        const res = fn();
        const into = fn === tny ? roundTny : roundBase;
        into.build.push(res.build);
        into.add.push(res.add);
      }
    }
    out.buildTny.push(median(roundTny.build));
    out.buildBaseline.push(median(roundBase.build));
    out.addTny.push(median(roundTny.add));
    out.addBaseline.push(median(roundBase.add));
  }
  return out;
}

/** ns/op of fn over one pass of the keys, per round (context figures, no baseline). */
function contextNs(keys: readonly string[], fn: (key: string) => number): number[] {
  const out: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let checksum = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < keys.length; i++) checksum += fn(keys[i]!);
    out.push(Number(process.hrtime.bigint() - start) / keys.length);
    if (checksum < 0) console.log(checksum);
  }
  return out;
}

const spread = (xs: number[]) => `${fmt(Math.min(...xs), 1)}–${fmt(Math.max(...xs), 1)}`;

function main(): void {
  const machine = describeMachine();
  console.log(`consistent hashing — ${machineLine(machine)}`);
  console.log(`${KEY_COUNT.toLocaleString('en-US')} distinct keys, ${VNODES} points per node, ${ROUNDS} rounds`);
  const keys = coldKeys(KEY_COUNT);

  const lookups = [10, 100].map((n) => lookupScenario(n, keys));
  console.log('  rebuild at 100 nodes …');
  const rebuild = rebuildScenario();
  const hashOnly = contextNs(keys, (k) => murmur3_32String(k));
  const jump = contextNs(keys, (k) => jumpHashString(k, 10));

  console.log('\nlookup, cold keys (ns/op, median of rounds; range in brackets)');
  const lookupRows = lookups.map((s) => {
    const tny = median(s.tny);
    const base = median(s.baseline);
    console.log(`  ${String(s.nodes).padStart(3)} nodes: tny ${fmt(tny, 1)} [${spread(s.tny)}]  hashring ${fmt(base, 1)} [${spread(s.baseline)}]  ratio ${fmt(base / tny, 1)}×`);
    return { nodes: s.nodes, tnyNsPerOp: round(tny, 1), hashringNsPerOp: round(base, 1), ratio: round(base / tny, 2), roundsTny: s.tny.map((x) => round(x, 1)), roundsHashring: s.baseline.map((x) => round(x, 1)) };
  });
  const r = {
    buildTnyMs: median(rebuild.buildTny),
    buildHashringMs: median(rebuild.buildBaseline),
    addTnyMs: median(rebuild.addTny),
    addHashringMs: median(rebuild.addBaseline),
  };
  console.log('\nrebuild at 100 nodes × 150 points (ms, median of per-round medians)');
  console.log(`  build 100 nodes: tny ${fmt(r.buildTnyMs, 3)} [${spread(rebuild.buildTny)}]  hashring ${fmt(r.buildHashringMs, 3)} [${spread(rebuild.buildBaseline)}]  ratio ${fmt(r.buildHashringMs / r.buildTnyMs, 1)}×`);
  console.log(`  add the 101st:   tny ${fmt(r.addTnyMs, 3)} [${spread(rebuild.addTny)}]  hashring ${fmt(r.addHashringMs, 3)} [${spread(rebuild.addBaseline)}]  ratio ${fmt(r.addHashringMs / r.addTnyMs, 1)}×`);
  console.log('\ncontext, same keys, no baseline (ns/op)');
  console.log(`  murmur3_32String alone (the hash part of a ring lookup): ${fmt(median(hashOnly), 1)} [${spread(hashOnly)}]`);
  console.log(`  jumpHashString, 10 buckets (two murmur3 + the jump loop): ${fmt(median(jump), 1)} [${spread(jump)}]`);

  const ratio10 = lookupRows[0]!.ratio;
  const pass = ratio10 >= GOAL_RATIO;
  console.log(`\n${pass ? 'PASS' : 'MISS'}  lookup at 10 nodes, cold keys: ${fmt(ratio10, 1)}× faster than hashring (goal ≥ ${GOAL_RATIO}×)`);

  const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
  const file = join(root, 'bench/results/platform-hashing-latest.json');
  mkdirSync(dirname(file), { recursive: true });
  const result = {
    benchmark: 'platform-hashing',
    date: new Date().toISOString(),
    machine,
    settings: { rounds: ROUNDS, keys: KEY_COUNT, pointsPerNode: VNODES, rebuildsPerRound: REBUILDS, baseline: 'hashring 3.2.0 (md5, replicas 1, 150 vnodes per server)' },
    lookup: lookupRows,
    rebuild100: {
      buildTnyMs: round(r.buildTnyMs, 3),
      buildHashringMs: round(r.buildHashringMs, 3),
      buildRatio: round(r.buildHashringMs / r.buildTnyMs, 2),
      addTnyMs: round(r.addTnyMs, 3),
      addHashringMs: round(r.addHashringMs, 3),
      addRatio: round(r.addHashringMs / r.addTnyMs, 2),
    },
    murmur3NsPerOp: round(median(hashOnly), 1),
    jumpHashStringNsPerOp: round(median(jump), 1),
    goal: { name: 'lookup at 10 nodes, cold keys, hashring ns / tny ns', target: `≥ ${GOAL_RATIO}`, value: ratio10, pass },
  };
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(`results: ${file}`);
}

main();

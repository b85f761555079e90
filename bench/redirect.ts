/**
 * `npm run bench:redirect`: redirects/s and latency of `tny serve` against a bare node:http
 * server answering 302 from a Map of the same keys, in the same run, interleaved.
 *
 * Env: BENCH_LINKS (100000), BENCH_ROUNDS (5), BENCH_ROUND_SECONDS (5), BENCH_CONNECTIONS (50),
 * BENCH_PROFILE=1 (write tny's .cpuprofile), BENCH_TOOL=autocannon, BENCH_PIN=0.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bulkLoadLinks } from './lib/links.js';
import { runGet } from './lib/load.js';
import { metricValue, scrape } from './lib/metrics.js';
import { sleep } from './lib/net.js';
import { removeDir, startBaseline, startTny, tempDir, type ServerProcess } from './lib/process.js';
import { profileFlags, profilesIn } from './lib/profile.js';
import { environment, environmentLine, goal, goalLine, summaryTable, writeResults, type Goal } from './lib/report.js';
import { alternatingRounds, measured, summarize, type Summary } from './lib/rounds.js';
import { waitForQuiet } from './lib/cpu.js';
import { fmt, fmtInt, round } from './lib/stats.js';

const LINKS = Number(process.env.BENCH_LINKS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_S = Number(process.env.BENCH_ROUND_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
/** Which scenarios run (comma-separated); all by default. For quick A/B runs of one of them. */
const SCENARIOS = new Set((process.env.BENCH_SCENARIOS ?? 'cold,hot,mix,zipf').split(',').map((x) => x.trim()));

const log = (s = '') => console.log(s);

async function check(server: ServerProcess, key: string, url: string): Promise<void> {
  const res = await fetch(`${server.url}/${key}`, { redirect: 'manual' });
  const location = res.headers.get('location');
  if (res.status !== 302 || location !== url) {
    throw new Error(`${server.name}: GET /${key} answered ${res.status} ${location ?? ''}, expected 302 ${url}`);
  }
}

interface ScenarioResult {
  name: string;
  description: string;
  tny: Summary;
  baseline: Summary;
  ratio: number;
  goals: Goal[];
}

function printScenario(s: ScenarioResult): void {
  log();
  log(`${s.name}: ${s.description}`);
  log(summaryTable([s.tny, s.baseline]));
  log(`ratio tny/baseline: ${fmt(s.ratio)} req/s (cross-check by server CPU per request: ${fmt(s.baseline.cpuUsPerRequest / s.tny.cpuUsPerRequest)})`);
  for (const g of s.goals) log(goalLine(g, g.name.includes('p99') ? `${fmt(g.value)} ms` : fmt(g.value)));
}

async function main(): Promise<void> {
  const busyBefore = await waitForQuiet(60, 0.1, log);
  const env = environment();
  log(`bench:redirect — ${LINKS.toLocaleString('en-US')} links, ${CONNECTIONS} connections, ${ROUNDS} rounds × ${ROUND_S} s per server`);
  log(environmentLine(env));

  const dataDir = tempDir('redirect');
  const servers: ServerProcess[] = [];
  const profile = profileFlags('redirect');
  try {
    const loaded = await bulkLoadLinks(dataDir, LINKS);
    log(`loaded ${LINKS.toLocaleString('en-US')} links via insertMany in ${(loaded.ms / 1000).toFixed(1)} s`);
    const firstKey = loaded.keys[0] as string;
    const firstUrl = loaded.urls[0] as string;

    const tny = await startTny({
      dataDir,
      env: { CACHE_MAX_ENTRIES: String(Math.max(100_000, LINKS)) },
      nodeFlags: profile.flags,
    });
    servers.push(tny);
    const baseline = await startBaseline('redirect', loaded.mapFile);
    servers.push(baseline);
    await check(tny, firstKey, firstUrl);
    await check(baseline, firstKey, firstUrl);

    const paths = loaded.keys.map((k) => `/${k}`);
    const hot = { paths: [`/${firstKey}`], durationS: ROUND_S, connections: CONNECTIONS };
    const mix = { paths, pathsFile: loaded.pathsFile, durationS: ROUND_S, connections: CONNECTIONS };
    // Zipf(s = 1) over the same keys, the usual shape of real link traffic: a sample of
    // 200,000 requests written to a file that wrk then reads uniformly.
    const zipfFile = join(dataDir, 'bench-zipf-paths.txt');
    writeFileSync(zipfFile, zipfSample(paths, 1, 200_000).join('\n') + '\n');
    const zipf = { paths, pathsFile: zipfFile, durationS: ROUND_S, connections: CONNECTIONS };
    const run = (server: ServerProcess, load: typeof hot | typeof mix) => () => runGet({ baseUrl: server.url, ...load });

    // Cold mix: tny's cache starts empty, so most requests of this one run read SQLite.
    const cold = SCENARIOS.has('cold') ? await coldMix(() => measured(run(tny, mix), tny.pid), () => measured(run(baseline, mix), baseline.pid)) : undefined;

    // Warm-up: walk every key in order until all are cached, then JIT warm-up of both.
    let start = 0;
    for (let pass = 0; pass < 20; pass++) {
      const entries = metricValue(await scrape(tny.url), 'tny_link_cache_entries');
      if (entries >= LINKS) break;
      const r = await runGet({ baseUrl: tny.url, paths, pathsFile: loaded.pathsFile, order: 'sequential', start, durationS: 3, connections: CONNECTIONS });
      start = (start + r.requests) % LINKS;
    }
    const cacheEntries = metricValue(await scrape(tny.url), 'tny_link_cache_entries');
    log(`warm-up: tny cache holds ${fmtInt(cacheEntries)} links`);
    await runGet({ baseUrl: tny.url, ...mix, durationS: 3 });
    await runGet({ baseUrl: baseline.url, ...mix, durationS: 3 });
    await runGet({ baseUrl: tny.url, ...hot, durationS: 2 });
    await runGet({ baseUrl: baseline.url, ...hot, durationS: 2 });

    const scenarios: ScenarioResult[] = [];
    const scenario = async (name: string, description: string, load: typeof hot | typeof mix, ratioGoal?: number) => {
      if (!SCENARIOS.has(name)) return;
      log();
      log(`${name}: ${ROUNDS} alternating rounds of ${ROUND_S} s …`);
      const before = await scrape(tny.url);
      const [t, b] = await alternatingRounds(
        [
          { name: 'tny', run: run(tny, load), pid: tny.pid },
          { name: 'baseline', run: run(baseline, load), pid: baseline.pid },
        ],
        ROUNDS,
        (s) => log(s),
      );
      const after = await scrape(tny.url);
      const misses = metricValue(after, 'tny_link_cache_misses') - metricValue(before, 'tny_link_cache_misses');
      const hits = metricValue(after, 'tny_link_cache_hits') - metricValue(before, 'tny_link_cache_hits');
      const compactions = metricValue(after, 'tny_click_compactions') - metricValue(before, 'tny_click_compactions');
      if (!t || !b) throw new Error('no results');
      const ratio = t.medianRps / b.medianRps;
      const s: ScenarioResult = {
        name,
        description:
          `${description}; tny cache hit ratio ${fmt((hits / Math.max(1, hits + misses)) * 100, 1)}%, ` +
          `click journal compactions during the rounds: ${compactions}`,
        tny: t,
        baseline: b,
        ratio,
        goals:
          ratioGoal === undefined
            ? []
            : [goal(`${name} ratio tny/baseline`, ratio, '>=', ratioGoal), goal(`${name} tny p99`, t.p99Ms, '<', 10, ' ms')],
      };
      scenarios.push(s);
      return s;
    };
    await scenario('hot', 'one key requested repeatedly', hot, 0.75);
    await scenario('mix', `uniform over all ${LINKS.toLocaleString('en-US')} keys (warm cache)`, mix, 0.6);
    await scenario('zipf', `Zipf (s = 1) over all ${LINKS.toLocaleString('en-US')} keys (warm cache; informational, no goal)`, zipf);

    const clickErrors = metricValue(await scrape(tny.url), 'tny_click_flush_errors_total');
    const tnyRssMb = tny.rssMb();
    const baselineRssMb = baseline.rssMb();
    for (const s of servers.splice(0)) await s.stop();

    log();
    log('='.repeat(100));
    log(`bench:redirect results (${environmentLine(env)})`);
    for (const s of scenarios) printScenario(s);
    log();
    if (cold) {
      log(
        `cold mix (informational, 1 run, tny cache empty at start): tny ${fmtInt(cold.tny.medianRps)} req/s, p99 ${fmt(cold.tny.p99Ms)} ms, ` +
          `${fmt(cold.tny.cpuUsPerRequest, 1)} CPU µs/req; ` +
          `baseline ${fmtInt(cold.baseline.medianRps)} req/s; ratio ${fmt(cold.tny.medianRps / cold.baseline.medianRps)}`,
      );
    }
    log(`RSS at the end: tny ${fmt(tnyRssMb, 0)} MB, baseline ${fmt(baselineRssMb, 0)} MB; click flush errors: ${clickErrors}`);
    const goals = scenarios.flatMap((s) => s.goals);
    log(`overall: ${goals.every((g) => g.pass) ? 'PASS' : 'MISS'} (${goals.filter((g) => g.pass).length}/${goals.length} goals)`);

    const brief = (x: Summary) => ({
      medianRps: round(x.medianRps, 0),
      p50Ms: round(x.p50Ms, 3),
      p99Ms: round(x.p99Ms, 3),
      requests: x.requests,
      errors: x.errorResponses + x.socketErrors,
      cpuUsPerRequest: round(x.cpuUsPerRequest, 2),
      cpuShare: round(x.cpuShare, 3),
      rounds: x.rounds.map((r) => ({
        rps: round(r.rps, 0),
        p50Ms: r.latencyMs.p50,
        p99Ms: r.latencyMs.p99,
        requests: r.requests,
        cpuUsPerRequest: round(r.serverCpuUsPerRequest, 2),
        cpuShare: round(r.serverCpuShare, 3),
      })),
    });
    const file = writeResults('redirect', {
      command: 'npm run bench:redirect',
      environment: { ...env, busyBeforeStart: round(busyBefore, 3) },
      parameters: { links: LINKS, rounds: ROUNDS, roundSeconds: ROUND_S, connections: CONNECTIONS },
      scenarios: scenarios.map((s) => ({
        name: s.name,
        description: s.description,
        tny: brief(s.tny),
        baseline: brief(s.baseline),
        ratio: round(s.ratio, 3),
        cpuRatio: round(s.baseline.cpuUsPerRequest / s.tny.cpuUsPerRequest, 3),
        goals: s.goals,
      })),
      coldMix: cold ? { tny: brief(cold.tny), baseline: brief(cold.baseline), ratio: round(cold.tny.medianRps / cold.baseline.medianRps, 3) } : null,
      rssMb: { tny: round(tnyRssMb, 1), baseline: round(baselineRssMb, 1) },
      pass: goals.every((g) => g.pass),
    });
    log(`results: ${file}`);
    if (profile.dir) {
      await sleep(200);
      log(`tny CPU profile: ${profilesIn(profile.dir).join(', ')} (npx tsx bench/profile-top.ts <file>)`);
    }
  } finally {
    for (const s of servers) await s.stop();
    removeDir(dataDir);
  }
}

await main();

/** `count` draws from `items` with P(rank k) ∝ 1 / k^s (rank 1 = items[0]). */
/** The cold-cache run: one run of each, tny first, while tny's cache is still empty. */
async function coldMix(
  tnyRun: () => ReturnType<typeof measured>,
  baselineRun: () => ReturnType<typeof measured>,
): Promise<{ tny: ReturnType<typeof summarize>; baseline: ReturnType<typeof summarize> }> {
  log();
  log('cold mix (tny cache empty at start; one run each):');
  const coldTny = await tnyRun();
  const coldBase = await baselineRun();
  log(`  tny ${fmtInt(coldTny.rps)} req/s p99 ${fmt(coldTny.latencyMs.p99)} ms; baseline ${fmtInt(coldBase.rps)} req/s`);
  return { tny: summarize('tny', [coldTny]), baseline: summarize('baseline', [coldBase]) };
}

function zipfSample<T>(items: readonly T[], s: number, count: number): T[] {
  const cdf = new Float64Array(items.length);
  let total = 0;
  for (let k = 0; k < items.length; k++) cdf[k] = total += 1 / (k + 1) ** s;
  const out: T[] = [];
  for (let i = 0; i < count; i++) {
    const u = Math.random() * total;
    let lo = 0;
    let hi = items.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    out.push(items[lo]!);
  }
  return out;
}

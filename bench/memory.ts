/**
 * `npm run bench:memory`: resident memory of `tny serve` with 1,000,000 links in SQLite while it
 * serves a uniform mix over all of them, against a bare node:http server holding the same
 * 1,000,000 keys → URLs in a Map, in the same run. RSS is read from /proc/<pid>/status every second.
 *
 * Env: BENCH_LINKS (1000000), BENCH_SECONDS (30 per server), BENCH_CONNECTIONS (50), BENCH_PIN=0.
 */
import { waitForQuiet } from './lib/cpu.js';
import { bulkLoadLinks } from './lib/links.js';
import { runGet, type LoadResult } from './lib/load.js';
import { metricValue, scrape } from './lib/metrics.js';
import { removeDir, sampleRss, startBaseline, startTny, tempDir, type ServerProcess } from './lib/process.js';
import { environment, environmentLine, goal, goalLine, table, writeResults } from './lib/report.js';
import { measured, type RoundResult } from './lib/rounds.js';
import { fmt, fmtInt, round } from './lib/stats.js';

const LINKS = Number(process.env.BENCH_LINKS ?? 1_000_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const GOAL_MB = 300;

const log = (s = '') => console.log(s);

interface MemoryRun {
  name: string;
  idleMb: number;
  maxMb: number;
  finalMb: number;
  samples: number[];
  load: RoundResult;
}

/** Serves the mix for SECONDS while sampling RSS every second. */
async function serveMix(server: ServerProcess, paths: string[], pathsFile: string): Promise<MemoryRun> {
  const idleMb = server.rssMb();
  const sampler = sampleRss(server.pid, 1000);
  const load = await measured(
    (): Promise<LoadResult> => runGet({ baseUrl: server.url, paths, pathsFile, durationS: SECONDS, connections: CONNECTIONS }),
    server.pid,
  );
  const samples = sampler.stop();
  return {
    name: server.name,
    idleMb,
    maxMb: Math.max(...samples),
    finalMb: samples[samples.length - 1] ?? Number.NaN,
    samples: samples.map((s) => round(s, 1)),
    load,
  };
}

async function main(): Promise<void> {
  const busyBefore = await waitForQuiet(60, 0.1, log);
  const env = environment();
  log(`bench:memory — ${LINKS.toLocaleString('en-US')} links, uniform mix for ${SECONDS} s per server at ${CONNECTIONS} connections`);
  log(environmentLine(env));

  const dataDir = tempDir('memory');
  const servers: ServerProcess[] = [];
  try {
    const loaded = await bulkLoadLinks(dataDir, LINKS, 50_000);
    log(`loaded ${LINKS.toLocaleString('en-US')} links via insertMany in ${(loaded.ms / 1000).toFixed(1)} s`);
    const paths = loaded.keys.map((k) => `/${k}`);
    loaded.keys.length = 0;
    loaded.urls.length = 0;

    const tny = await startTny({ dataDir });
    servers.push(tny);
    log(`tny started (RSS ${fmt(tny.rssMb(), 0)} MB); serving the mix for ${SECONDS} s …`);
    const tnyRun = await serveMix(tny, paths, loaded.pathsFile);
    const metrics = await scrape(tny.url);
    const cacheEntries = metricValue(metrics, 'tny_link_cache_entries');
    const hits = metricValue(metrics, 'tny_link_cache_hits');
    const misses = metricValue(metrics, 'tny_link_cache_misses');
    await tny.stop();
    servers.length = 0;

    const baseline = await startBaseline('redirect', loaded.mapFile);
    servers.push(baseline);
    log(`baseline started with a Map of ${LINKS.toLocaleString('en-US')} keys (RSS ${fmt(baseline.rssMb(), 0)} MB); serving the mix for ${SECONDS} s …`);
    const baseRun = await serveMix(baseline, paths, loaded.pathsFile);
    await baseline.stop();
    servers.length = 0;

    const goals = [goal('tny max RSS', tnyRun.maxMb, '<', GOAL_MB, ' MB')];
    const row = (r: MemoryRun) => [
      r.name,
      fmt(r.idleMb, 0),
      fmt(r.maxMb, 0),
      fmt(r.finalMb, 0),
      fmtInt(r.load.rps),
      fmt(r.load.latencyMs.p99),
      fmt(r.load.serverCpuUsPerRequest, 1),
      String(r.load.errorResponses + r.load.socketErrors),
    ];
    log();
    log('='.repeat(100));
    log(`bench:memory results (${environmentLine(env)})`);
    log();
    log(table([['server', 'RSS idle MB', 'RSS max MB', 'RSS final MB', 'req/s', 'p99 ms', 'CPU µs/req', 'errors'], row(tnyRun), row(baseRun)]));
    log(`ratio tny/baseline max RSS: ${fmt(tnyRun.maxMb / baseRun.maxMb)}`);
    log(
      `tny link cache: ${fmtInt(cacheEntries)} entries (CACHE_MAX_ENTRIES default 100,000), hit ratio during the mix ${fmt((hits / Math.max(1, hits + misses)) * 100, 1)}%`,
    );
    log(goalLine(goals[0]!, `${fmt(tnyRun.maxMb, 0)} MB`));
    const s = tnyRun.samples;
    const rising = s.length > 10 && (s[s.length - 1] ?? 0) >= tnyRun.maxMb * 0.98 && (s[s.length - 1] ?? 0) > (s[s.length - 11] ?? 0);
    if (rising) log(`note: tny's RSS was still rising at the end of the window; BENCH_SECONDS=90 shows where it levels off`);

    const brief = (r: MemoryRun) => ({
      idleRssMb: round(r.idleMb, 1),
      maxRssMb: round(r.maxMb, 1),
      finalRssMb: round(r.finalMb, 1),
      rssSamplesMb: r.samples,
      rps: round(r.load.rps, 0),
      p50Ms: r.load.latencyMs.p50,
      p99Ms: r.load.latencyMs.p99,
      cpuUsPerRequest: round(r.load.serverCpuUsPerRequest, 2),
      requests: r.load.requests,
      errors: r.load.errorResponses + r.load.socketErrors,
    });
    const file = writeResults('memory', {
      command: 'npm run bench:memory',
      environment: { ...env, busyBeforeStart: round(busyBefore, 3) },
      parameters: { links: LINKS, seconds: SECONDS, connections: CONNECTIONS, loadSeconds: round(loaded.ms / 1000, 1) },
      tny: { ...brief(tnyRun), cacheEntries, cacheHitRatio: round(hits / Math.max(1, hits + misses), 4) },
      baseline: brief(baseRun),
      ratio: round(tnyRun.maxMb / baseRun.maxMb, 3),
      goals,
      rssStillRisingAtEnd: rising,
      pass: goals.every((g) => g.pass),
    });
    log(`results: ${file}`);
  } finally {
    for (const s of servers) await s.stop();
    removeDir(dataDir);
  }
}

await main();

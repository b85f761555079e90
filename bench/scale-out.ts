/**
 * `npx tsx bench/scale-out.ts`: redirects/s of ONE tny api process in scale-out mode
 * (PostgreSQL + Redis: L2 cache, click counters on Redis) for an L1 hit, an L2 (Redis) hit and a
 * database read, against the embedded mode (SQLite) and the bare node:http baseline (302 from a
 * Map), all in the same run, each tny scenario alternating rounds with the baseline.
 *
 * Scenarios (each its own tny process on the same data):
 *  - l1        scale-out, one hot key: served from the in-process cache;
 *  - l2        scale-out, uniform over BENCH_LINKS keys with CACHE_MAX_ENTRIES=1000, after a pass
 *              that put every key in Redis: nearly every request misses L1 and hits L2;
 *  - db        PostgreSQL without Redis, uniform, CACHE_MAX_ENTRIES=1000: nearly every request
 *              reads PostgreSQL;
 *  - embedded-l1 / embedded-db   the same two on the embedded SQLite default.
 * PostgreSQL: BENCH_DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432/test); a
 * database tny_bench_<random> is created and dropped. Redis: BENCH_REDIS_URL (default local),
 * keys under a random prefix, deleted after.
 * Env: BENCH_LINKS (100000), BENCH_ROUNDS (3), BENCH_ROUND_SECONDS (5), BENCH_CONNECTIONS (50),
 * BENCH_SCENARIOS (all), BENCH_PROFILE=1 (a .cpuprofile per scenario's tny process, bench/lib/profile.ts).
 */
import { randomBytes } from 'node:crypto';
import { bulkLoadLinks, type LoadedLinks } from './lib/links.js';
import { runGet } from './lib/load.js';
import { metricValue, scrape } from './lib/metrics.js';
import { removeDir, startBaseline, startTny, tempDir } from './lib/process.js';
import { environment, environmentLine, writeResults } from './lib/report.js';
import { alternatingRounds, type Summary } from './lib/rounds.js';
import { waitForQuiet } from './lib/cpu.js';
import { profileFlags, profilesIn } from './lib/profile.js';
import { BENCH_REDIS_URL, deleteRedisKeys, throwawayDatabase } from './lib/services.js';
import { fmt, fmtInt, round } from './lib/stats.js';

const LINKS = Number(process.env.BENCH_LINKS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ROUND_S = Number(process.env.BENCH_ROUND_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const REDIS_URL = BENCH_REDIS_URL;
const SCENARIOS = new Set((process.env.BENCH_SCENARIOS ?? 'l1,l2,db,embedded-l1,embedded-db').split(',').map((x) => x.trim()));
const SMALL_L1 = '1000';

const log = (s = '') => console.log(s);

interface Row {
  name: string;
  description: string;
  tny: Summary;
  baseline: Summary;
  l1HitRatio: number;
}

async function withDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const db = await throwawayDatabase();
  try {
    return await fn(db.url);
  } finally {
    await db.drop();
  }
}

async function main(): Promise<void> {
  const busyBefore = await waitForQuiet(Number(process.env.BENCH_WAIT_QUIET_SECONDS ?? 30), 0.1, log);
  const env = environment();
  log(`bench:scale-out — ${fmtInt(LINKS)} links, ${CONNECTIONS} connections, ${ROUNDS} rounds × ${ROUND_S} s per server and scenario`);
  log(environmentLine(env));
  const prefix = `tnybench:${randomBytes(4).toString('hex')}:`;
  const dataDir = tempDir('scale-out');
  const rows: Row[] = [];
  try {
    await withDatabase(async (databaseUrl) => {
      // The same keys and URLs in SQLite and PostgreSQL (loaded once each).
      const loaded = await bulkLoadLinks(dataDir, LINKS);
      const pgLoaded = await loadSame(loaded, dataDir, databaseUrl);
      log(`loaded ${fmtInt(LINKS)} links into SQLite (${fmt(loaded.ms / 1000, 1)} s) and PostgreSQL (${fmt(pgLoaded / 1000, 1)} s)`);
      const baseline = await startBaseline('redirect', loaded.mapFile);
      try {
        const paths = loaded.keys.map((k) => `/${k}`);
        const hot = { paths: [paths[0] as string], durationS: ROUND_S, connections: CONNECTIONS };
        const mix = { paths, pathsFile: loaded.pathsFile, durationS: ROUND_S, connections: CONNECTIONS };
        const scaleOut = { DATABASE_URL: databaseUrl, REDIS_URL, CACHE_REDIS_PREFIX: `${prefix}cache:`, CLICK_COUNTER: 'redis', CLICK_REDIS_PREFIX: `{${prefix}clicks}:`, RATE_LIMIT_REDIS_PREFIX: `${prefix}rl:`, INBOX_REDIS_PREFIX: prefix };
        const scenarios: { name: string; description: string; env: Record<string, string>; load: typeof hot | typeof mix; fillL2?: boolean }[] = [
          { name: 'l1', description: 'scale-out (PostgreSQL + Redis), one hot key: L1 hit', env: scaleOut, load: hot },
          { name: 'l2', description: `scale-out, uniform over ${fmtInt(LINKS)} keys, L1 of ${SMALL_L1}: L2 (Redis) hit`, env: { ...scaleOut, CACHE_MAX_ENTRIES: SMALL_L1 }, load: mix, fillL2: true },
          { name: 'db', description: `PostgreSQL without Redis, uniform, L1 of ${SMALL_L1}: database read`, env: { DATABASE_URL: databaseUrl, CACHE_MAX_ENTRIES: SMALL_L1 }, load: mix },
          { name: 'embedded-l1', description: 'embedded (SQLite), one hot key: L1 hit', env: { CACHE_MAX_ENTRIES: String(LINKS) }, load: hot },
          { name: 'embedded-db', description: `embedded (SQLite), uniform, L1 of ${SMALL_L1}: database read`, env: { CACHE_MAX_ENTRIES: SMALL_L1 }, load: mix },
        ];
        for (const s of scenarios) {
          if (!SCENARIOS.has(s.name)) continue;
          const profile = profileFlags(`scale-out-${s.name}`);
          const tny = await startTny({ dataDir, env: s.env, nodeFlags: profile.flags });
          try {
            const check = await fetch(`${tny.url}${paths[0]}`, { redirect: 'manual' });
            if (check.status !== 302 || check.headers.get('location') !== loaded.urls[0]) throw new Error(`${s.name}: GET ${paths[0]} answered ${check.status}`);
            if (s.fillL2) await runGet({ baseUrl: tny.url, paths, pathsFile: loaded.pathsFile, order: 'sequential', durationS: Math.max(5, LINKS / 10_000), connections: CONNECTIONS });
            await runGet({ baseUrl: tny.url, ...s.load, durationS: 2 });
            await runGet({ baseUrl: baseline.url, ...s.load, durationS: 2 });
            const before = await scrape(tny.url);
            log();
            log(`${s.name}: ${s.description} — ${ROUNDS} alternating rounds of ${ROUND_S} s`);
            const [t, b] = await alternatingRounds(
              [
                { name: `tny ${s.name}`, run: () => runGet({ baseUrl: tny.url, ...s.load }), pid: tny.pid },
                { name: 'baseline', run: () => runGet({ baseUrl: baseline.url, ...s.load }), pid: baseline.pid },
              ],
              ROUNDS,
              (line) => log(line),
            );
            const after = await scrape(tny.url);
            const hits = metricValue(after, 'tny_link_cache_hits') - metricValue(before, 'tny_link_cache_hits');
            const misses = metricValue(after, 'tny_link_cache_misses') - metricValue(before, 'tny_link_cache_misses');
            if (!t || !b) throw new Error('no results');
            rows.push({ name: s.name, description: s.description, tny: t, baseline: b, l1HitRatio: hits / Math.max(1, hits + misses) });
          } finally {
            await tny.stop();
            if (profile.dir) for (const file of profilesIn(profile.dir)) log(`  ${s.name} CPU profile: ${file} (npx tsx bench/profile-top.ts <file>)`);
          }
        }
      } finally {
        await baseline.stop();
      }
    });
  } finally {
    removeDir(dataDir);
    await deleteRedisKeys(prefix, REDIS_URL);
  }

  log();
  log('='.repeat(100));
  log(`bench:scale-out results (${environmentLine(env)}); per tny process, medians of ${ROUNDS} rounds`);
  log('scenario      tny req/s   p50 ms   p99 ms   L1 hit %   bare req/s   tny/bare   CPU µs/req tny (bare)');
  for (const r of rows) {
    log(
      `${r.name.padEnd(13)} ${fmtInt(r.tny.medianRps).padStart(9)} ${fmt(r.tny.p50Ms).padStart(8)} ${fmt(r.tny.p99Ms).padStart(8)} ${fmt(r.l1HitRatio * 100, 1).padStart(10)} ` +
        `${fmtInt(r.baseline.medianRps).padStart(12)} ${fmt(r.tny.medianRps / r.baseline.medianRps).padStart(10)}   ${fmt(r.tny.cpuUsPerRequest, 1)} (${fmt(r.baseline.cpuUsPerRequest, 1)})`,
    );
  }
  const file = writeResults('scale-out', {
    command: 'npx tsx bench/scale-out.ts',
    environment: { ...env, busyBeforeStart: round(busyBefore, 3) },
    parameters: { links: LINKS, rounds: ROUNDS, roundSeconds: ROUND_S, connections: CONNECTIONS, smallL1: Number(SMALL_L1) },
    scenarios: rows.map((r) => ({
      name: r.name,
      description: r.description,
      tny: { medianRps: round(r.tny.medianRps, 0), p50Ms: round(r.tny.p50Ms, 3), p99Ms: round(r.tny.p99Ms, 3), cpuUsPerRequest: round(r.tny.cpuUsPerRequest, 2) },
      baseline: { medianRps: round(r.baseline.medianRps, 0), p99Ms: round(r.baseline.p99Ms, 3), cpuUsPerRequest: round(r.baseline.cpuUsPerRequest, 2) },
      ratio: round(r.tny.medianRps / r.baseline.medianRps, 3),
      l1HitRatio: round(r.l1HitRatio, 4),
    })),
  });
  log(`results: ${file}`);
}

/** Loads the keys and URLs of `loaded` into PostgreSQL (same order); returns the ms it took. */
async function loadSame(loaded: LoadedLinks, dataDir: string, databaseUrl: string): Promise<number> {
  const started = Date.now();
  const { openDatabase } = await import('../src/adapters/sql/open-database.js');
  const { KyselyLinkRepository } = await import('../src/adapters/sql/kysely-link-repository.js');
  const db = await openDatabase({ dataDir, databaseUrl, poolSize: 2 });
  try {
    const repo = new KyselyLinkRepository(db.db, db.dialect);
    const now = Date.now();
    for (let i = 0; i < loaded.keys.length; i += 5000) {
      const part = loaded.keys.slice(i, i + 5000).map((key, j) => ({
        key,
        url: loaded.urls[i + j] as string,
        accountId: 1,
        createdAt: now,
        updatedAt: now,
        expiresAt: null,
        maxClicks: null,
        redirectStatus: 302 as const,
        passwordHash: null,
        tags: [],
        forwardQuery: false,
        disabled: false,
      }));
      const out = await repo.insertMany(part);
      if (out.some((r) => r === 'conflict')) throw new Error('conflict while loading PostgreSQL');
    }
  } finally {
    await db.close();
  }
  return Date.now() - started;
}

await main();

/**
 * `npm run bench:redirect-clicks`: redirects/s of `tny serve` counting clicks in Redis
 * (CLICK_COUNTER=redis, ADR 7) against the same build counting them in process, in the same
 * run, interleaved: `embedded` (no Redis at all), `redis-local` (REDIS_URL set — L2 cache,
 * Bloom filter, shared limits — but CLICK_COUNTER=local) and `redis-counter` (REDIS_URL and
 * CLICK_COUNTER=redis, `--role api`, with a `--role worker` process started first, so it holds
 * the flusher lease and flushes to the same SQLite file, pinned to the load generator's core).
 * The ratio redis-counter / redis-local is the cost of the Redis click path alone. At the end
 * the clicks stored by redis-counter are compared with the redirects it answered.
 *
 * Env: BENCH_REDIS_URL (redis://127.0.0.1:6379), BENCH_LINKS (20000), BENCH_ROUNDS (5),
 * BENCH_ROUND_SECONDS (5), BENCH_CONNECTIONS (50), BENCH_TNY_CLI (another build's cli.js).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { openDatabase } from '../src/adapters/sql/open-database.js';
import { waitForQuiet } from './lib/cpu.js';
import { bulkLoadLinks, type LoadedLinks } from './lib/links.js';
import { runGet, type LoadResult } from './lib/load.js';
import { sleep } from './lib/net.js';
import { pinning, removeDir, startTny, tempDir, type TnyServer } from './lib/process.js';
import { environment, environmentLine, summaryTable, writeResults } from './lib/report.js';
import { alternatingRounds, type Summary } from './lib/rounds.js';
import { fmt, fmtInt, round } from './lib/stats.js';

const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const LINKS = Number(process.env.BENCH_LINKS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_S = Number(process.env.BENCH_ROUND_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const log = (s = '') => console.log(s);

interface Variant {
  name: 'embedded' | 'redis-local' | 'redis-counter';
  dir: string;
  links: LoadedLinks;
  server: TnyServer;
  /** Redirects answered (status < 400) over every run against it. */
  answered: number;
}

async function main(): Promise<void> {
  await waitForQuiet(60, 0.1, log);
  const env = environment();
  const prefix = `tnybench:${randomBytes(4).toString('hex')}:`;
  log(`bench:redirect-clicks — ${fmtInt(LINKS)} links, ${CONNECTIONS} connections, ${ROUNDS} rounds × ${ROUND_S} s per server`);
  log(environmentLine(env));
  const variants: Variant[] = [];
  const workers: TnyServer[] = [];
  const redis = new Redis(REDIS_URL);
  try {
    for (const name of ['embedded', 'redis-local', 'redis-counter'] as const) {
      const dir = tempDir(`clicks-${name}`);
      const links = await bulkLoadLinks(dir, LINKS);
      const redisEnv = {
        REDIS_URL,
        CACHE_REDIS_PREFIX: `${prefix}${name}:cache:`,
        RATE_LIMIT_REDIS_PREFIX: `${prefix}${name}:rl:`,
        CLICK_REDIS_PREFIX: `${prefix}${name}:clicks:`,
      };
      if (name === 'redis-counter') {
        // The flusher, started first so it takes the lease, on the load generator's core (its
        // CPU is not the api process's).
        workers.push(await startTny({ dataDir: dir, cpu: pinning.loadCpu, env: { ...redisEnv, CLICK_COUNTER: 'redis', TNY_ROLE: 'worker' } }));
        await sleep(500);
      }
      const server = await startTny({
        dataDir: dir,
        env: {
          CACHE_MAX_ENTRIES: String(Math.max(100_000, LINKS)),
          ...(name === 'embedded' ? {} : redisEnv),
          // Scale-out as deployed: the api process counts, a worker process flushes.
          ...(name === 'redis-counter' ? { CLICK_COUNTER: 'redis', TNY_ROLE: 'api' } : {}),
        },
      });
      variants.push({ name, dir, links, server, answered: 0 });
    }
    const load = (v: Variant, hot: boolean, durationS = ROUND_S) => async (): Promise<LoadResult> => {
      const r = await runGet({
        baseUrl: v.server.url,
        paths: hot ? [`/${v.links.keys[0]}`] : v.links.keys.map((k) => `/${k}`),
        ...(hot ? {} : { pathsFile: v.links.pathsFile }),
        durationS,
        connections: CONNECTIONS,
      });
      v.answered += r.requests - r.errorResponses;
      return r;
    };
    // Warm-up: every link into every cache, then JIT.
    for (const v of variants) {
      await runGet({ baseUrl: v.server.url, paths: v.links.keys.map((k) => `/${k}`), pathsFile: v.links.pathsFile, order: 'sequential', durationS: 3, connections: CONNECTIONS }).then(
        (r) => (v.answered += r.requests - r.errorResponses),
      );
      await load(v, false, 3)();
    }
    const results: Record<string, Summary[]> = {};
    for (const [scenario, hot] of [['mix', false], ['hot', true]] as const) {
      log();
      log(`${scenario}: ${hot ? 'one key' : `uniform over ${fmtInt(LINKS)} keys (warm cache)`}, ${ROUNDS} alternating rounds …`);
      results[scenario] = await alternatingRounds(
        variants.map((v) => ({ name: v.name, run: load(v, hot), pid: v.server.pid })),
        ROUNDS,
        (s) => log(s),
      );
    }
    await sleep(1500); // a flush interval for the last clicks
    for (const v of variants) await v.server.stop();
    await sleep(1500); // the worker flushes what the api process sent last
    for (const w of workers) await w.stop();

    const counted = await storedClicks(variants[2]!.dir);
    log();
    log('='.repeat(100));
    log(`bench:redirect-clicks results (${environmentLine(env)})`);
    const ratios: Record<string, { vsRedisLocal: number; vsEmbedded: number }> = {};
    for (const [scenario, summaries] of Object.entries(results)) {
      const [embedded, local, counter] = summaries as [Summary, Summary, Summary];
      log();
      log(scenario);
      log(summaryTable(summaries));
      ratios[scenario] = { vsRedisLocal: counter.medianRps / local.medianRps, vsEmbedded: counter.medianRps / embedded.medianRps };
      log(
        `ratio redis-counter / redis-local: ${fmt(ratios[scenario].vsRedisLocal)} req/s (CPU/req ${fmt(local.cpuUsPerRequest / counter.cpuUsPerRequest)}); ` +
          `redis-counter / embedded: ${fmt(ratios[scenario].vsEmbedded)}`,
      );
    }
    const answered = variants[2]!.answered;
    log();
    // A timed run cuts off the requests in flight at its end: the server may have answered
    // (and counted) them without the load tool counting them, at most CONNECTIONS per run.
    const runs = 2 + 2 * ROUNDS;
    const within = counted >= answered && counted - answered <= runs * CONNECTIONS;
    log(
      `redis-counter: ${fmtInt(answered)} redirects counted by the load tool, ${fmtInt(counted)} clicks stored after shutdown ` +
        `(${within ? 'consistent' : 'MISMATCH'}: stored may exceed answered by up to ${runs} runs × ${CONNECTIONS} cut-off requests)`,
    );
    const file = writeResults('redirect-clicks', {
      command: 'npm run bench:redirect-clicks',
      environment: env,
      parameters: { links: LINKS, rounds: ROUNDS, roundSeconds: ROUND_S, connections: CONNECTIONS },
      scenarios: Object.fromEntries(
        Object.entries(results).map(([k, s]) => [
          k,
          { ...Object.fromEntries(s.map((x) => [x.name, { medianRps: round(x.medianRps, 0), p99Ms: round(x.p99Ms, 3), cpuUsPerRequest: round(x.cpuUsPerRequest, 2) }])), ratios: ratios[k] },
        ]),
      ),
      redisCounter: { answered, stored: counted },
    });
    log(`results: ${file}`);
  } finally {
    for (const w of workers) await w.stop();
    for (const v of variants) {
      await v.server.stop();
      removeDir(v.dir);
    }
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
  }
}

async function storedClicks(dataDir: string): Promise<number> {
  const db = await openDatabase({ dataDir, poolSize: 1 });
  try {
    const row = await db.db.selectFrom('short_urls').select((eb) => eb.fn.sum<number>('click_count').as('n')).executeTakeFirst();
    return Number(row?.n ?? 0);
  } finally {
    await db.close();
  }
}

await main();

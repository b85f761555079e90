/**
 * `npx tsx bench/click-flush.ts`: the cost of one click flush per aggregate row on SQLite,
 * in-process (no HTTP): batches of aggregates of distinct links, drawn uniformly from all
 * links, through KyselyClickRepository (Kysely without and with the statement cache) and
 * SqliteClickRepository, each on its own database of the same size, rounds interleaved.
 *
 * Env: BENCH_LINKS (100,000), BENCH_FLUSH_ROWS (aggregates per batch, 500 = CLICK_FLUSH_BATCH's default), BENCH_ROUNDS (40).
 */
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { join } from 'node:path';
import { KyselyClickRepository } from '../src/adapters/sql/kysely-click-repository.js';
import { migrateToLatest } from '../src/adapters/sql/migrations.js';
import type { Database as Schema } from '../src/adapters/sql/schema.js';
import { openSqlite } from '../src/adapters/sqlite/open-sqlite.js';
import { SqliteClickRepository } from '../src/adapters/sqlite/sqlite-click-repository.js';
import type { ClickAggregate, ClickBatch } from '../src/shortener/clicks.js';
import type { ClickRepository } from '../src/shortener/ports.js';
import { waitForQuiet } from './lib/cpu.js';
import { removeDir, tempDir } from './lib/process.js';
import { environment, environmentLine, table, writeResults } from './lib/report.js';
import { fmt, mean, median, round } from './lib/stats.js';

const LINKS = Number(process.env.BENCH_LINKS ?? 100_000);
const ROWS = Number(process.env.BENCH_FLUSH_ROWS ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 40);
const BROWSERS = ['Chrome', 'Firefox', 'Safari', 'Edge'];
const SYSTEMS = ['Windows', 'macOS', 'Linux', 'Android', 'iOS'];

const log = (s = '') => console.log(s);

interface Variant {
  name: string;
  repo: ClickRepository;
  close(): Promise<void>;
  /** Per round: wall-clock and process CPU (user + system) µs per aggregate row. */
  usPerRow: number[];
  cpuUsPerRow: number[];
}

function seedLinks(raw: Database.Database): void {
  const insert = raw.prepare(
    'insert into short_urls (short_key, original_url, account_id, created_at, updated_at, redirect_status) values (?, ?, 1, 0, 0, 302)',
  );
  raw.transaction(() => {
    for (let i = 0; i < LINKS; i++) insert.run(`k${i}`, `https://example.com/${i}`);
  })();
}

async function variant(dir: string, name: string, cached: boolean, raw: boolean): Promise<Variant> {
  const handle = openSqlite(join(dir, `${name.replace(/\W+/g, '-')}.db`));
  // Kysely straight over better-sqlite3, as before the statement cache: re-prepares every query.
  const db = cached ? handle.db : new Kysely<Schema>({ dialect: new SqliteDialect({ database: handle.raw }) });
  await migrateToLatest(db, 'sqlite');
  seedLinks(handle.raw);
  const repo = raw ? new SqliteClickRepository(db, handle.raw) : new KyselyClickRepository(db, 'sqlite');
  return { name, repo, close: () => (cached ? handle.close() : db.destroy()), usPerRow: [], cpuUsPerRow: [] };
}

/** A deterministic PRNG (mulberry32), so every variant flushes the same batches. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function batchFor(round: number): ClickBatch {
  const random = prng(round + 1);
  const ids = new Set<number>();
  while (ids.size < Math.min(ROWS, LINKS)) ids.add(1 + Math.floor(random() * LINKS));
  const rollups: ClickAggregate[] = [];
  const counts = new Map<number, number>();
  for (const id of ids) {
    const clicks = 1 + Math.floor(random() * 3);
    rollups.push({
      linkId: id,
      day: '2026-01-02',
      referrer: random() < 0.5 ? '' : 'news.example',
      browser: BROWSERS[Math.floor(random() * BROWSERS.length)] as string,
      os: SYSTEMS[Math.floor(random() * SYSTEMS.length)] as string,
      bot: random() < 0.1,
      clicks,
    });
    counts.set(id, clicks);
  }
  return { rollups, counts };
}

async function main(): Promise<void> {
  await waitForQuiet(60, 0.1, log);
  const env = environment();
  log(`bench:click-flush — ${ROUNDS} rounds of ${ROWS} aggregates (distinct links, uniform over ${LINKS} links) per variant, SQLite`);
  log(environmentLine(env));
  const dir = tempDir('click-flush');
  const variants: Variant[] = [];
  try {
    variants.push(await variant(dir, 'Kysely, no statement cache', false, false));
    variants.push(await variant(dir, 'Kysely, statement cache', true, false));
    variants.push(await variant(dir, 'SqliteClickRepository', true, true));
    for (let r = 0; r < ROUNDS + 1; r++) {
      const batch = batchFor(r);
      // Alternate the order each round so drift hits every variant alike; round 0 is warm-up.
      const order = r % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) {
        const cpu = process.cpuUsage();
        const started = process.hrtime.bigint();
        await v.repo.addClicks(batch);
        const us = Number(process.hrtime.bigint() - started) / 1000;
        const used = process.cpuUsage(cpu);
        if (r === 0) continue;
        v.usPerRow.push(us / batch.rollups.length);
        v.cpuUsPerRow.push((used.user + used.system) / batch.rollups.length);
      }
    }
  } finally {
    for (const v of variants) await v.close();
    removeDir(dir);
  }

  // Commits that trigger a WAL checkpoint cost several times the others, so rounds are
  // bimodal: the mean (total time / total rows) is the headline, the median is shown too.
  const baseline = mean(variants[0]?.usPerRow ?? []);
  log();
  log(
    table([
      ['variant', 'µs/row (mean)', 'µs/row (median)', 'CPU µs/row (mean)', 'rows/s', 'vs no cache'],
      ...variants.map((v) => {
        const m = mean(v.usPerRow);
        return [v.name, fmt(m), fmt(median(v.usPerRow)), fmt(mean(v.cpuUsPerRow)), fmt(1e6 / m, 0), `${fmt(baseline / m)}×`];
      }),
    ]),
  );
  const file = writeResults('click-flush', {
    environment: env,
    settings: { links: LINKS, rowsPerBatch: ROWS, rounds: ROUNDS },
    variants: variants.map((v) => ({
      name: v.name,
      meanUsPerRow: round(mean(v.usPerRow), 3),
      medianUsPerRow: round(median(v.usPerRow), 3),
      meanCpuUsPerRow: round(mean(v.cpuUsPerRow), 3),
      usPerRow: v.usPerRow.map((x) => round(x, 3)),
      cpuUsPerRow: v.cpuUsPerRow.map((x) => round(x, 3)),
    })),
  });
  log(`\nresults: ${file}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

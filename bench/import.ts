/**
 * `npx tsx bench/import.ts`: rows/s of `tny links import`'s use case on SQLite, in-process, as
 * a saga (plan + staging + one marked transaction per batch, ADR 9) against the write path it
 * replaced, in the same run: the same file read, validated (`prepareLink`) and keyed the same
 * way, then `insertMany` per batch (one transaction each, no staging, not crash-safe). Rounds
 * alternate between the two, each on a fresh database.
 *
 * Env: BENCH_ROWS (50,000), BENCH_ROUNDS (3).
 */
import { createReadStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openLinkFile } from '../src/cli/link-file-reader.js';
import { loadConfig } from '../src/config/config.js';
import { createContainer, type Container } from '../src/main/container.js';
import { createLogger } from '../src/main/logger.js';
import { parseLinkRecord } from '../src/shortener/link-record.js';
import type { NewLink } from '../src/shortener/link.js';
import { prepareLink } from '../src/shortener/use-cases/create-link.js';
import { importLinks, sha256Of } from '../src/shortener/use-cases/import-links.js';
import { removeDir, tempDir } from './lib/process.js';
import { environment, environmentLine, table, writeResults } from './lib/report.js';
import { median } from './lib/stats.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 50_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCH = 500;

function makeFile(dir: string): string {
  const lines = ['url,alias,tags'];
  for (let i = 0; i < ROWS; i++) lines.push(`https://example.com/bench/${i},${i % 10 === 0 ? `al-${i}` : ''},"a,b"`);
  const path = join(dir, 'links.csv');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

async function fresh(dir: string, name: string): Promise<Container> {
  const config = loadConfig({ DATA_DIR: join(dir, name), BASE_URL: 'http://tny.test', LOG_LEVEL: 'silent' });
  mkdirSync(config.DATA_DIR, { recursive: true });
  const c = await createContainer(config, createLogger('silent'));
  await c.accounts.createAccount('bench', false, Date.now());
  return c;
}

/** The saga import, as `tny links import` runs it. */
async function sagaImport(c: Container, path: string): Promise<number> {
  const account = (await c.accounts.findAccountByName('bench'))!;
  const file = await openLinkFile(path);
  const sha256 = await sha256Of(createReadStream(path));
  const result = await importLinks(
    c.shortener,
    { sagas: c.sagas.runner, partitions: c.sagas.partitions },
    { accountId: account.id, isAdmin: false, keyId: 'bench', accountName: 'bench' },
    { rows: file.rows, sha256 },
    { batchSize: BATCH, onSkip: () => {} },
  );
  file.close();
  return result.created;
}

/** The write path before sagas: validate, key, insertMany per batch, tell the cache. */
async function plainImport(c: Container, path: string): Promise<number> {
  const account = (await c.accounts.findAccountByName('bench'))!;
  const actor = { accountId: account.id, isAdmin: false, keyId: 'bench' };
  const ctx = c.shortener;
  const file = await openLinkFile(path);
  let created = 0;
  let batch: NewLink[] = [];
  const flush = async () => {
    const stored = await ctx.links.insertMany(batch);
    for (const s of stored) {
      if (s === 'conflict') continue;
      created++;
      await ctx.cache.invalidate(s.key);
    }
    batch = [];
  };
  for await (const row of file.rows) {
    const parsed = parseLinkRecord(row.record!, ctx.clock.now());
    const draft = await prepareLink(ctx, actor, parsed.input);
    batch.push({ ...draft, key: parsed.input.alias ?? (await ctx.keys.candidate(draft.url, draft.accountId, 0)) });
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  file.close();
  return created;
}

const dir = tempDir('tny-bench-import-');
try {
  const path = makeFile(dir);
  const rates: Record<string, number[]> = { 'saga import': [], 'insertMany (before sagas)': [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of [['insertMany (before sagas)', plainImport], ['saga import', sagaImport]] as const) {
      const c = await fresh(dir, `${round}-${name.replace(/\W+/g, '-')}`);
      const started = process.hrtime.bigint();
      const created = await run(c, path);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      await c.lifecycle.close();
      if (created !== ROWS) throw new Error(`${name} created ${created} of ${ROWS}`);
      rates[name]!.push(Math.round(ROWS / seconds));
    }
  }
  const env = environment();
  const base = median(rates['insertMany (before sagas)']!);
  const saga = median(rates['saga import']!);
  console.log(environmentLine(env));
  console.log(`${ROWS.toLocaleString('en-US')} rows into SQLite, batches of ${BATCH}, ${ROUNDS} rounds alternating (medians)\n`);
  console.log(
    table([
      ['import', 'rows/s (median)', 'rounds'],
      ['insertMany (before sagas)', base.toLocaleString('en-US'), rates['insertMany (before sagas)']!.join(' ')],
      ['saga import', saga.toLocaleString('en-US'), rates['saga import']!.join(' ')],
    ]),
  );
  console.log(`\nsaga / before: ${(saga / base).toFixed(2)}`);
  console.log(`results: ${writeResults('import', { env, rows: ROWS, rounds: ROUNDS, rates, ratio: saga / base })}`);
} finally {
  removeDir(dir);
}

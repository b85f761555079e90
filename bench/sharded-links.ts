/**
 * Links on one PostgreSQL schema vs the same links sharded over three schemas of the same
 * server (in process, repository level): what routing and the scatter-gather list cost. The
 * three shards share one server here, so this measures overhead, not scale-out capacity.
 *   DATABASE_URL_TEST=postgres://postgres@127.0.0.1:5432/test npx tsx bench/sharded-links.ts
 * Knobs: BENCH_LINKS (20,000), BENCH_ROUNDS (3), BENCH_CONCURRENCY (32).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { openPostgres } from '../src/adapters/postgres/open-postgres.js';
import { ShardSet, type Shard } from '../src/adapters/sharding/shard-set.js';
import { ShardedLinkRepository } from '../src/adapters/sharding/sharded-link-repository.js';
import { KyselyLinkRepository } from '../src/adapters/sql/kysely-link-repository.js';
import { migrateToLatest } from '../src/adapters/sql/migrations.js';
import type { LinkCursor, NewLink } from '../src/shortener/link.js';
import type { LinkRepository } from '../src/shortener/ports.js';
import { describeMachine } from './lib/machine.js';

const url = process.env.DATABASE_URL_TEST ?? 'postgres://postgres@127.0.0.1:5432/test';
const LINKS = Number(process.env.BENCH_LINKS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const SHARDS = 3;
const POOL = 12;

const schemas: string[] = [];
async function openSchema(poolSize: number) {
  const schema = `tny_bench_${randomBytes(5).toString('hex')}`;
  schemas.push(schema);
  const handle = await openPostgres(url, { schema, poolSize });
  await migrateToLatest(handle.db, 'postgres');
  return handle;
}

function link(i: number): NewLink {
  return {
    key: `b${i.toString(36)}x${(i * 7919) % 1000}`,
    url: `https://example.com/${i}`,
    accountId: 1 + (i % 5),
    createdAt: 1_767_225_600_000 + Math.floor(i / 3) * 1000,
    updatedAt: 1_767_225_600_000,
    expiresAt: null,
    maxClicks: null,
    redirectStatus: 302,
    passwordHash: null,
    tags: [],
    forwardQuery: false,
    disabled: false,
  };
}

/** Runs `n` operations at CONCURRENCY; returns ops/s. */
async function rate(n: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < n; i = next++) await op(i);
    }),
  );
  return n / ((performance.now() - started) / 1000);
}

/** Latency (ms) of walking `pages` pages of 50, newest first, one after another. */
async function listLatencies(repo: LinkRepository, pages: number): Promise<number[]> {
  const out: number[] = [];
  let after: LinkCursor | undefined;
  for (let p = 0; p < pages; p++) {
    const t0 = performance.now();
    const page = await repo.list({ sort: 'created_at', order: 'desc', limit: 50, ...(after ? { after } : {}) });
    out.push(performance.now() - t0);
    after = page.next ?? undefined;
    if (!after) break;
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? NaN;

async function main(): Promise<void> {
  const single = await openSchema(POOL);
  const shardHandles = await Promise.all(Array.from({ length: SHARDS }, () => openSchema(POOL / SHARDS)));
  const set = await ShardSet.prepare(
    shardHandles.map((h, index): Shard => ({ name: `s${index}`, index, label: `bench s${index}`, database: { db: h.db, dialect: 'postgres', close: () => h.close() } })),
  );
  const repos: Record<string, LinkRepository> = { single: new KyselyLinkRepository(single.db, 'postgres'), sharded: new ShardedLinkRepository(set) };
  const results: Record<string, { insert: number[]; find: number[]; listP50: number[]; listP99: number[] }> = {
    single: { insert: [], find: [], listP50: [], listP99: [] },
    sharded: { insert: [], find: [], listP50: [], listP99: [] },
  };
  try {
    const per = Math.floor(LINKS / ROUNDS);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ['single', 'sharded'] : ['sharded', 'single'];
      for (const name of order) {
        const repo = repos[name]!;
        const r = results[name]!;
        r.insert.push(await rate(per, (i) => repo.insert(link(round * per + i))));
        const stored = (round + 1) * per;
        r.find.push(await rate(20_000, (i) => repo.findByKey(link((i * 104_729) % stored).key)));
        const lat = await listLatencies(repo, 100);
        r.listP50.push(pct(lat, 0.5));
        r.listP99.push(pct(lat, 0.99));
      }
      console.log(`round ${round + 1}/${ROUNDS} done`);
    }
  } finally {
    await set.close();
    await single.close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    for (const s of schemas) await client.query(`drop schema if exists "${s}" cascade`);
    await client.end();
  }
  const rows = [
    ['insert, links/s', median(results.single!.insert), median(results.sharded!.insert)],
    ['findByKey, ops/s', median(results.single!.find), median(results.sharded!.find)],
    ['list page of 50, p50 ms', median(results.single!.listP50), median(results.sharded!.listP50)],
    ['list page of 50, p99 ms', median(results.single!.listP99), median(results.sharded!.listP99)],
  ] as const;
  console.log(`\n${LINKS} links, concurrency ${CONCURRENCY}, ${ROUNDS} rounds (medians); ${SHARDS} shards = ${SHARDS} schemas of one server, pools ${POOL} vs ${SHARDS}x${POOL / SHARDS}`);
  console.log('measure                    single   sharded   sharded/single');
  for (const [name, a, b] of rows) console.log(`${name.padEnd(25)} ${a.toFixed(1).padStart(8)} ${b.toFixed(1).padStart(9)} ${(b / a).toFixed(2).padStart(14)}`);
  const out = { name: 'sharded-links', date: new Date().toISOString(), machine: describeMachine(), links: LINKS, concurrency: CONCURRENCY, rounds: ROUNDS, shards: SHARDS, results, medians: rows };
  const dir = join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = out.date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  writeFileSync(join(dir, `sharded-links-${stamp}.json`), JSON.stringify(out, null, 2));
  writeFileSync(join(dir, 'sharded-links-latest.json'), JSON.stringify(out, null, 2));
}

await main();

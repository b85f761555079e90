import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { openPostgres } from '../../src/adapters/postgres/open-postgres.js';
import { KyselyLinkRepository } from '../../src/adapters/sql/kysely-link-repository.js';
import { migrateToLatest } from '../../src/adapters/sql/migrations.js';
import { clickTotals, deleteKeys, FIREFOX, GOOGLEBOT } from '../contracts/redis-click-support.js';
import { describeWithRedis, uniquePrefix } from '../helpers/redis.js';
import { freePort } from '../helpers/tny-process.js';

/**
 * Four `tny serve` processes (from source, through tsx) with CLICK_COUNTER=redis share one
 * PostgreSQL database and one Redis; redirects go to all four at once. Whichever holds the
 * flusher lease moves the clicks to the database: totals must equal the redirects answered,
 * while they run and after they stop.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'src/main/cli.ts');
const children = new Set<ChildProcess>();
const tmp = mkdtempSync(join(tmpdir(), 'tny-rc-'));

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

async function startServe(env: Record<string, string>): Promise<{ child: ChildProcess; base: string; log: () => string }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), BASE_URL: base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let log = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (log += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (log += s));
  child.once('exit', () => children.delete(child));
  const deadline = Date.now() + 30_000;
  while (!(await fetch(`${base}/health`).then((r) => r.ok, () => false))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`tny serve did not start:\n${log}`);
    await sleep(100);
  }
  return { child, base, log: () => log };
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describeWithRedis('CLICK_COUNTER=redis across processes', (redisUrl) => {
  const pgUrl = process.env.DATABASE_URL_TEST;
  it('4 tny serve processes × concurrent redirects: database totals equal redirects answered, exactly', async () => {
    if (!pgUrl) throw new Error('DATABASE_URL_TEST is required (this test runs on PostgreSQL)');
    const name = `tny_rc_${randomBytes(5).toString('hex')}`;
    await admin(pgUrl, `CREATE DATABASE ${name}`);
    const url = new URL(pgUrl);
    url.pathname = `/${name}`;
    const db = await openPostgres(url.toString(), { poolSize: 2 });
    const prefix = uniquePrefix();
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    try {
      await migrateToLatest(db.db, 'postgres');
      const repo = new KyselyLinkRepository(db.db, 'postgres');
      const keys = Array.from({ length: 10 }, (_, i) => `rc${i}`);
      for (const key of keys) {
        const link = await repo.insert({
          key,
          url: `https://example.com/${key}`,
          accountId: 1,
          createdAt: Date.now(),
          updatedAt: Date.now(),
          expiresAt: null,
          maxClicks: null,
          redirectStatus: 302,
          passwordHash: null,
          tags: [],
          forwardQuery: false,
          disabled: false,
        });
        if (link === 'conflict') throw new Error('conflict');
      }
      const env = {
        DATABASE_URL: url.toString(),
        DATA_DIR: tmp,
        REDIS_URL: redisUrl,
        CLICK_COUNTER: 'redis',
        CLICK_REDIS_PREFIX: `${prefix}clicks:`,
        CACHE_REDIS_PREFIX: `${prefix}cache:`,
        RATE_LIMIT_REDIS_PREFIX: `${prefix}rl:`,
        CLICK_FLUSH_INTERVAL_MS: '100',
        CLICK_REDIS_LEASE_TTL_MS: '1000',
        LOG_LEVEL: 'warn',
      };
      const first = await startServe(env); // makes the admin key alone
      const servers = [first, ...(await Promise.all([1, 2, 3].map(() => startServe(env))))];

      let answered = 0;
      await Promise.all(
        servers.flatMap((s, si) =>
          Array.from({ length: 6 }, async (_, lane) => {
            for (let i = 0; i < 300; i++) {
              const n = si * 10_000 + lane * 1000 + i;
              const res = await fetch(`${s.base}/${keys[n % keys.length]}`, {
                redirect: 'manual',
                headers: { 'user-agent': n % 5 === 0 ? GOOGLEBOT : FIREFOX, ...(n % 3 === 0 ? { referer: 'https://ref.example/x' } : {}) },
              });
              await res.arrayBuffer();
              if (res.status === 302) answered++;
            }
          }),
        ),
      );
      expect(answered).toBe(4 * 6 * 300);

      // While all four run: the lease holder's flushes bring the database to the exact total.
      const deadline = Date.now() + 15_000;
      let live = 0;
      while (Date.now() < deadline && (live = sum((await clickTotals(db.db)).rollups)) < answered) await sleep(100);
      expect(live).toBe(answered);
      const markers = await db.db.selectFrom('click_flushes').select('id').execute();
      expect(markers.length).toBeGreaterThan(1);

      for (const s of servers) s.child.kill('SIGTERM');
      await Promise.all(servers.map((s) => new Promise((resolve) => (s.child.exitCode !== null ? resolve(null) : s.child.once('exit', resolve)))));
      const totals = await clickTotals(db.db);
      expect(sum(totals.rollups)).toBe(answered);
      expect(sum(totals.counts)).toBe(answered);
      const botRows = await db.db.selectFrom('click_rollups').select((eb) => eb.fn.sum<number>('clicks').as('n')).where('bot', '=', 1).executeTakeFirst();
      expect(Number(botRows?.n)).toBe(answered / 5);
      expect(await redis.keys(`${prefix}clicks:*ing:*`)).toEqual([]);
      expect(await redis.exists(`${prefix}clicks:pending`)).toBe(0);
    } finally {
      for (const c of children) c.kill('SIGKILL');
      await db.close();
      await deleteKeys(redis, prefix);
      redis.disconnect();
      await admin(pgUrl!, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  }, 90_000);
});

function sum(m: Map<number, number>): number {
  let s = 0;
  for (const v of m.values()) s += v;
  return s;
}

import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

/** The PostgreSQL server and Redis the scale-out benchmarks use (local by default). */
export const BENCH_PG_SERVER = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A throwaway PostgreSQL database on BENCH_PG_SERVER: its URL, and drop(). */
export async function throwawayDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `tny_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: BENCH_PG_SERVER });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(BENCH_PG_SERVER);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: BENCH_PG_SERVER });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Deletes every Redis key containing `prefix`. */
export async function deleteRedisKeys(prefix: string, url = BENCH_REDIS_URL): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * tny's scale-out storage for one benchmark phase: a throwaway database and a Redis prefix,
 * as the env tny needs (PostgreSQL, Redis for the cache, limits and pub/sub, BullMQ for the
 * queue), and dispose() to remove both.
 */
export async function scaleOutStorage(shards = 0): Promise<{ env: Record<string, string>; dispose(): Promise<void> }> {
  // With `shards`, that many throwaway databases as DATABASE_SHARDS instead of one DATABASE_URL.
  const dbs = await Promise.all(Array.from({ length: Math.max(1, shards) }, () => throwawayDatabase()));
  const prefix = `tnybench:${randomBytes(4).toString('hex')}:`;
  return {
    env: {
      ...(shards > 0 ? { DATABASE_SHARDS: dbs.map((d) => d.url).join(',') } : { DATABASE_URL: dbs[0]!.url }),
      REDIS_URL: BENCH_REDIS_URL,
      QUEUE: 'bullmq',
      QUEUE_REDIS_PREFIX: `${prefix}q`,
      CACHE_REDIS_PREFIX: `${prefix}cache:`,
      RATE_LIMIT_REDIS_PREFIX: `${prefix}rl:`,
      INBOX_REDIS_PREFIX: prefix,
      CLICK_REDIS_PREFIX: `{${prefix}clicks}:`,
    },
    async dispose() {
      for (const db of dbs) await db.drop();
      await deleteRedisKeys(prefix);
    },
  };
}

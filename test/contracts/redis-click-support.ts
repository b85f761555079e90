import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/adapters/sql/schema.js';

export const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0';
export const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

/** Per link: the sum of its rollup rows and its running click_count. */
export async function clickTotals(db: Kysely<Database>): Promise<{ rollups: Map<number, number>; counts: Map<number, number> }> {
  const rollups = new Map<number, number>();
  for (const r of await db.selectFrom('click_rollups').select(['link_id', 'clicks']).execute()) {
    rollups.set(Number(r.link_id), (rollups.get(Number(r.link_id)) ?? 0) + Number(r.clicks));
  }
  const counts = new Map<number, number>();
  for (const r of await db.selectFrom('short_urls').select(['id', 'click_count']).execute()) counts.set(Number(r.id), Number(r.click_count));
  return { rollups, counts };
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

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

/** A TCP proxy to host:port that a test can cut (every connection destroyed, new ones refused) and resume. */
export interface CuttableProxy {
  port: number;
  cut(): void;
  resume(): Promise<void>;
  close(): Promise<void>;
}

export async function startProxy(host: string, port: number): Promise<CuttableProxy> {
  const { createServer, connect } = await import('node:net');
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((client) => {
    const upstream = connect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const listen = (p: number) => new Promise<void>((resolve) => server.listen(p, '127.0.0.1', () => resolve()));
  await listen(0);
  const address = server.address();
  const own = typeof address === 'object' && address ? address.port : 0;
  return {
    port: own,
    cut() {
      server.close();
      for (const s of sockets) s.destroy();
    },
    resume: () => listen(own),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        if (server.listening) server.close(() => resolve());
        else resolve();
      }),
  };
}

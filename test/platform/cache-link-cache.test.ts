import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import type { RedisSubscriber } from '../../src/platform/cache/redis-client.js';
import { systemClock } from '../../src/platform/clock.js';
import type { Link } from '../../src/shortener/link.js';
import { createLinkCache, type LinkCache } from '../../src/shortener/link-cache.js';
import { describeWithRedis, useRedis } from '../helpers/redis.js';

const link = (key: string): Link => ({
  id: 1, key, url: `https://example.com/${key}`, accountId: 1, createdAt: 0, updatedAt: 0, expiresAt: null, maxClicks: null,
  clickCount: 0, redirectStatus: 302, passwordHash: null, tags: [], forwardQuery: false, disabled: false,
});

/** The database both "processes" share. */
function fakeDatabase(initial: string[]) {
  const rows = new Map(initial.map((k) => [k, link(k)]));
  let reads = 0;
  return {
    rows,
    get reads() {
      return reads;
    },
    findByKey: async (key: string) => {
      reads++;
      return rows.get(key);
    },
    listKeys: async (after: string | null, limit: number) =>
      [...rows.keys()].sort().filter((k) => after === null || k > after).slice(0, limit),
  };
}

/** A subscriber whose messages arrive `delayMs` late (a slow network or a busy event loop). */
function lateSubscriber(real: Redis, delay: { ms: number }): RedisSubscriber {
  return {
    get status() {
      return real.status;
    },
    connect: () => real.connect(),
    subscribe: (channel) => real.subscribe(channel),
    on(event: string, listener: (...args: any[]) => void) {
      if (event !== 'message') return real.on(event, listener);
      return real.on('message', (channel: string, message: string) => {
        setTimeout(() => listener(channel, message), delay.ms);
      });
    },
    quit: () => real.quit(),
    disconnect: () => real.disconnect(),
  };
}

const bloomOf = (cache: LinkCache) =>
  cache.details().bloom as { state: string; builds: number; refused: number; passedUnsynced: number };

describeWithRedis('LinkCache across processes (Bloom filter and invalidation)', (url) => {
  const { prefix } = useRedis(url);
  const clients: Redis[] = [];
  const caches: LinkCache[] = [];
  afterAll(async () => {
    for (const c of caches) await c.close();
    for (const c of clients) c.disconnect();
  });

  async function process(db: ReturnType<typeof fakeDatabase>, delay = { ms: 0 }): Promise<{ cache: LinkCache; subscriber: Redis }> {
    const commands = new Redis(url, { maxRetriesPerRequest: 1 });
    const subscriber = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    clients.push(commands, subscriber);
    const cache = await createLinkCache({
      links: db,
      clock: systemClock,
      maxEntries: 1000,
      options: { ttlMs: 60_000, jitter: 0, negativeTtlMs: 5_000 },
      redis: { commands, subscriber: lateSubscriber(subscriber, delay), prefix: `${prefix}lc:`, leaseTtlMs: 1000, staleMs: 10_000, beta: 1 },
      bloom: { capacity: 10_000, falsePositiveRate: 0.001 },
      onError: () => undefined,
    });
    caches.push(cache);
    return { cache, subscriber };
  }

  it('never refuses a key created elsewhere whose message has not arrived yet', async () => {
    const db = fakeDatabase(['old-1', 'old-2']);
    const a = await process(db);
    const delay = { ms: 300 };
    const b = await process(db, delay);
    const readsBefore = db.reads;
    expect(await b.cache.get('brand-new')).toBeNull(); // refused: nobody made it…
    expect(db.reads).toBe(readsBefore); // …without asking the database

    db.rows.set('brand-new', link('brand-new')); // A creates it…
    await a.cache.invalidate('brand-new'); // …and announces it; B hears only in 300 ms
    const got = await b.cache.get('brand-new');
    expect(got?.url).toBe('https://example.com/brand-new');
    expect(bloomOf(b.cache).passedUnsynced).toBeGreaterThanOrEqual(1);
    console.log(`[cache] a key created elsewhere, message 300 ms late: resolved (${bloomOf(b.cache).passedUnsynced} lookup(s) passed the filter because the change counter was ahead)`);

    await new Promise((r) => setTimeout(r, 350)); // the message arrives: B is current again
    const refusedBefore = bloomOf(b.cache).refused;
    expect(await b.cache.get('still-unknown')).toBeNull();
    expect(bloomOf(b.cache).refused).toBe(refusedBefore + 1);
    expect(await b.cache.get('brand-new')).not.toBeNull();
  });

  it('after a reconnect (messages lost) drops its L1 and rebuilds the filter from the database', async () => {
    const db = fakeDatabase(['x-1', 'x-2']);
    const a = await process(db);
    const b = await process(db);
    expect(await b.cache.get('x-1')).not.toBeNull();
    expect(b.cache.peek('x-1')).not.toBeUndefined();
    expect(bloomOf(b.cache).builds).toBe(1);

    b.subscriber.disconnect(true); // B's subscriber drops; ioredis reconnects
    db.rows.set('made-while-away', link('made-while-away'));
    await a.cache.invalidate('made-while-away');

    const started = performance.now();
    while (bloomOf(b.cache).builds < 2 || bloomOf(b.cache).state !== 'ready') {
      if (performance.now() - started > 2000) throw new Error('no rebuild within 2 s');
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(b.cache.peek('x-1')).toBeUndefined(); // L1 cleared: it may have missed edits
    expect((await b.cache.get('made-while-away'))?.key).toBe('made-while-away');
    expect(await b.cache.get('never')).toBeNull();
  });

  it('drops the copy another process edited; both then read the new value (L2 was deleted too)', async () => {
    const db = fakeDatabase(['e']);
    const a = await process(db);
    const b = await process(db);
    expect((await b.cache.get('e'))?.url).toBe('https://example.com/e');
    db.rows.set('e', { ...link('e'), url: 'https://example.com/e2' });
    await a.cache.invalidate('e');
    const started = performance.now();
    while (b.cache.peek('e') !== undefined && performance.now() - started < 100) await new Promise((r) => setTimeout(r, 1));
    expect(b.cache.peek('e')).toBeUndefined();
    expect((await b.cache.get('e'))?.url).toBe('https://example.com/e2');
    expect((await a.cache.get('e'))?.url).toBe('https://example.com/e2');
  });
});

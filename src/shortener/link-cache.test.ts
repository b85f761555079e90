import { describe, expect, it } from 'vitest';
import { MemoryGuardStore } from '../platform/cache/guard-store.js';
import { KeyFilter } from '../platform/cache/key-filter.js';
import { LocalCache } from '../platform/cache/local-cache.js';
import { Singleflight } from '../platform/cache/singleflight.js';
import { StampedeGuard } from '../platform/cache/stampede-guard.js';
import { FakeClock } from '../platform/clock.js';
import type { Link } from './link.js';
import { createLinkCache, LinkCache, type CachedLink } from './link-cache.js';

const link = (key: string, url: string): Link => ({
  id: 1, key, url, accountId: 1, createdAt: 0, updatedAt: 0, expiresAt: null, maxClicks: null, clickCount: 0,
  redirectStatus: 301, passwordHash: null, tags: [], forwardQuery: false, disabled: false,
});

function setup(load: (key: string) => Promise<Link | undefined>) {
  const clock = new FakeClock();
  const cache = new LinkCache(new LocalCache<CachedLink>({ max: 100, clock }), new Singleflight(), load, {
    ttlMs: 60_000,
    jitter: 0,
    negativeTtlMs: 5_000,
  });
  return { clock, cache };
}

describe('LinkCache', () => {
  it('loads once for concurrent misses and serves hits from memory', async () => {
    let loads = 0;
    const { cache } = setup(async (key) => {
      loads++;
      await new Promise((r) => setTimeout(r, 10));
      return link(key, 'https://a/');
    });
    const got = await Promise.all(Array.from({ length: 100 }, () => cache.get('k')));
    expect(got.every((l) => l?.url === 'https://a/')).toBe(true);
    await cache.get('k');
    expect(loads).toBe(1);
  });

  it('caches unknown keys only for the negative TTL', async () => {
    let loads = 0;
    const { cache, clock } = setup(async () => {
      loads++;
      return undefined;
    });
    expect(await cache.get('x')).toBeNull();
    expect(await cache.get('x')).toBeNull();
    expect(loads).toBe(1);
    clock.advance(5_001);
    await cache.get('x');
    expect(loads).toBe(2);
  });

  it('does not cache a load that an edit overtook', async () => {
    let version = 'old';
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { cache } = setup(async (key) => {
      const seen = version;
      await gate;
      return link(key, `https://${seen}/`);
    });
    const inFlight = cache.get('k');
    version = 'new';
    cache.invalidate('k');
    release();
    expect((await inFlight)?.url).toBe('https://old/');
    expect((await cache.get('k'))?.url).toBe('https://new/');
  });
});

describe('LinkCache with a shared tier and a Bloom filter', () => {
  function twoTier(opts: { existing?: string[]; ttlMs?: number } = {}) {
    const clock = new FakeClock();
    const db = new Map((opts.existing ?? ['a', 'b']).map((k) => [k, link(k, `https://${k}/`)]));
    const loads: string[] = [];
    const load = async (key: string) => {
      loads.push(key);
      return db.get(key);
    };
    const store = new MemoryGuardStore<CachedLink>(clock);
    const guard = new StampedeGuard<CachedLink>({
      store,
      load: async (k) => (await load(k)) ?? null,
      clock,
      ttlMs: (l) => (l ? (opts.ttlMs ?? 60_000) : 5_000),
      staleMs: 30_000,
      leaseTtlMs: 1_000,
      beta: 0,
    });
    const published: string[] = [];
    const filter = new KeyFilter({
      keys: async function* () {
        yield [...db.keys()];
      },
      capacity: 1000,
      falsePositiveRate: 0.001,
    });
    const cache = new LinkCache(new LocalCache<CachedLink>({ max: 100, clock }), new Singleflight(), load, { ttlMs: 60_000, jitter: 0, negativeTtlMs: 5_000 }, {
      shared: {
        guard,
        publish: async (key) => {
          published.push(key);
          await store.invalidate(key);
        },
        clock,
      },
      filter,
    });
    return { clock, db, loads, store, cache, filter, published };
  }

  it('refuses keys the filter never saw without loading, and serves existing ones', async () => {
    const { cache, filter, loads } = twoTier();
    await filter.start();
    expect(await cache.get('nope')).toBeNull();
    expect(await cache.get('nope')).toBeNull();
    expect(loads).toEqual([]);
    expect((await cache.get('a'))?.url).toBe('https://a/');
    expect(loads).toEqual(['a']);
    expect(cache.peek('nope')).toBeUndefined(); // refused keys take no L1 slot
  });

  it('lets a key created here through at once (invalidate adds it to the filter and tells the others)', async () => {
    const { cache, filter, db, published } = twoTier();
    await filter.start();
    expect(await cache.get('new')).toBeNull();
    db.set('new', link('new', 'https://new/'));
    await cache.invalidate('new');
    expect(published).toEqual(['new']);
    expect((await cache.get('new'))?.url).toBe('https://new/');
  });

  it('lets a key created by another process through once its message arrives (remoteChange)', async () => {
    const { cache, filter, db } = twoTier();
    await filter.start();
    db.set('elsewhere', link('elsewhere', 'https://e/'));
    cache.remoteChange('elsewhere');
    expect((await cache.get('elsewhere'))?.url).toBe('https://e/');
  });

  it('fills L1 from L2 for no longer than the L2 entry stays fresh', async () => {
    const { cache, filter, clock, store, loads } = twoTier();
    await filter.start();
    // Another process stored "a" 50 s ago: 10 s of freshness left.
    store.put('a', { value: link('a', 'https://from-l2/'), freshUntil: clock.now() + 10_000, delta: 1 }, 40_000);
    expect((await cache.get('a'))?.url).toBe('https://from-l2/');
    expect(loads).toEqual([]);
    clock.advance(9_999);
    expect(cache.peek('a')?.url).toBe('https://from-l2/');
    clock.advance(1);
    expect(cache.peek('a')).toBeUndefined();
  });

  it('serves a stale L2 entry, keeps it in L1 only briefly, and refreshes it once', async () => {
    const { cache, filter, clock, store, loads } = twoTier();
    await filter.start();
    store.put('a', { value: link('a', 'https://stale/'), freshUntil: clock.now() - 1, delta: 1 }, 20_000);
    expect((await cache.get('a'))?.url).toBe('https://stale/');
    await new Promise((r) => setTimeout(r, 5));
    expect(loads).toEqual(['a']);
    clock.advance(1_000);
    expect(cache.peek('a')).toBeUndefined();
    expect((await cache.get('a'))?.url).toBe('https://a/');
  });

  it('drops L1 on a remote change and everything on clearLocal', async () => {
    const { cache, filter, db, store } = twoTier();
    await filter.start();
    await cache.get('a');
    await cache.get('b');
    db.set('a', link('a', 'https://a2/'));
    await store.invalidate('a'); // the other process's publish deleted L2
    cache.remoteChange('a');
    expect(cache.peek('a')).toBeUndefined();
    expect((await cache.get('a'))?.url).toBe('https://a2/');
    cache.clearLocal();
    expect(cache.peek('b')).toBeUndefined();
  });
});

describe('createLinkCache', () => {
  it('is L1 only without Redis, and refuses a Bloom filter without Redis', async () => {
    const links = { findByKey: async (k: string) => link(k, 'https://x/'), listKeys: async () => [] };
    const base = { links, clock: new FakeClock(), maxEntries: 10, options: { ttlMs: 1000, jitter: 0, negativeTtlMs: 0 }, onError: () => undefined };
    const cache = await createLinkCache(base);
    expect((await cache.get('k'))?.url).toBe('https://x/');
    expect(cache.details()).toEqual({});
    await expect(createLinkCache({ ...base, bloom: { capacity: 10, falsePositiveRate: 0.01 } })).rejects.toThrow('needs Redis');
  });
});

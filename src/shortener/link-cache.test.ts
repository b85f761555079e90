import { describe, expect, it } from 'vitest';
import { LocalCache } from '../platform/cache/local-cache.js';
import { Singleflight } from '../platform/cache/singleflight.js';
import { FakeClock } from '../platform/clock.js';
import type { Link } from './link.js';
import { LinkCache, type CachedLink } from './link-cache.js';

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

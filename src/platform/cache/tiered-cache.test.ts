import { describe, expect, it } from 'vitest';
import { FakeClock } from '../clock.js';
import type { Cache } from './cache.js';
import { LocalCache } from './local-cache.js';
import { localTier, TieredCache } from './tiered-cache.js';

function setup(l1TtlMs = 10_000) {
  const clock = new FakeClock();
  const l1 = new LocalCache<string>({ max: 100, clock });
  const l2Local = new LocalCache<string>({ max: 100, clock });
  const l2 = localTier(l2Local);
  const errors: unknown[] = [];
  const cache = new TieredCache(l1, l2, { l1TtlMs, onError: (e) => errors.push(e) });
  return { clock, l1, l2, cache, errors };
}

describe('TieredCache', () => {
  it('copies an L2 hit into L1 for at most l1TtlMs, then reads L2 again', async () => {
    const { clock, l1, l2, cache } = setup();
    await l2.set('k', 'v1', 60_000); // written by another process
    expect(cache.peek('k')).toBeUndefined();
    expect(await cache.get('k')).toBe('v1');
    expect(cache.peek('k')).toBe('v1');
    await l2.set('k', 'v2', 60_000); // changed elsewhere, no invalidation message
    clock.advance(9_999);
    expect(await cache.get('k')).toBe('v1');
    clock.advance(1);
    expect(await cache.get('k')).toBe('v2');
    expect(l1.stats().misses).toBe(3);
  });

  it('writes both tiers, the L1 copy never outliving the entry', async () => {
    const { clock, l2, cache } = setup();
    await cache.set('k', 'v', 3_000);
    expect(await l2.get('k')).toBe('v');
    expect(cache.peek('k')).toBe('v');
    clock.advance(3_000);
    expect(cache.peek('k')).toBeUndefined();
  });

  it('deletes from both tiers', async () => {
    const { l2, cache } = setup();
    await cache.set('k', 'v', 60_000);
    await cache.delete('k');
    expect(cache.peek('k')).toBeUndefined();
    expect(await l2.get('k')).toBeUndefined();
    expect(await cache.get('k')).toBeUndefined();
  });

  it('does not copy into L1 an L2 read that a delete overtook', async () => {
    const clock = new FakeClock();
    const l1 = new LocalCache<string>({ max: 10, clock });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slowL2: Cache<string> = {
      get: async () => {
        await gate;
        return 'old';
      },
      set: async () => undefined,
      delete: async () => undefined,
    };
    const cache = new TieredCache(l1, slowL2, { l1TtlMs: 10_000 });
    const read = cache.get('k');
    cache.dropLocal('k'); // another process changed the key meanwhile
    release();
    expect(await read).toBe('old');
    expect(cache.peek('k')).toBeUndefined();
  });

  it('degrades to L1 when L2 fails: reads miss, writes reach L1, both reported; deletes reject', async () => {
    const clock = new FakeClock();
    const down: Cache<string> = {
      get: () => Promise.reject(new Error('redis down')),
      set: () => Promise.reject(new Error('redis down')),
      delete: () => Promise.reject(new Error('redis down')),
    };
    const errors: unknown[] = [];
    const cache = new TieredCache(new LocalCache<string>({ max: 10, clock }), down, { l1TtlMs: 10_000, onError: (e) => errors.push(e) });
    expect(await cache.get('k')).toBeUndefined();
    await cache.set('k', 'v', 60_000);
    expect(await cache.get('k')).toBe('v');
    expect(errors).toHaveLength(2);
    await expect(cache.delete('k')).rejects.toThrow('redis down');
    expect(cache.peek('k')).toBeUndefined();
  });

  it('clearLocal forgets every L1 copy', async () => {
    const { cache } = setup();
    await cache.set('a', '1', 60_000);
    await cache.set('b', '2', 60_000);
    cache.clearLocal();
    expect(cache.peek('a')).toBeUndefined();
    expect(await cache.get('b')).toBe('2'); // still in L2
  });
});

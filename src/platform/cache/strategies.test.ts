import { describe, expect, it } from 'vitest';
import { FakeClock } from '../clock.js';
import type { Cache } from './cache.js';
import { cacheAside } from './cache-aside.js';
import { LocalCache } from './local-cache.js';
import { readThrough } from './read-through.js';
import { localTier } from './tiered-cache.js';
import type { IntervalTimers } from './write-behind-buffer.js';
import { writeBehind } from './write-behind.js';
import { writeThrough } from './write-through.js';

function memory<V>(clock = new FakeClock()) {
  return { clock, cache: localTier(new LocalCache<V>({ max: 100, clock })) };
}

/** Timers fired by hand. */
function manualTimers() {
  const t = { fn: null as null | (() => void) };
  const timers: IntervalTimers = {
    setInterval: (fn) => (t.fn = fn),
    clearInterval: () => undefined,
  };
  return { timers, tick: () => t.fn?.() };
}

describe('cacheAside', () => {
  it('loads on a miss, stores with the TTL chosen for the value, and hits afterwards', async () => {
    const { clock, cache } = memory<string | null>();
    let loads = 0;
    const load = async () => (++loads === 1 ? null : 'found');
    const ttl = (v: string | null) => (v === null ? 5_000 : 60_000);
    expect(await cacheAside(cache, 'k', load, ttl)).toBeNull();
    expect(await cacheAside(cache, 'k', load, ttl)).toBeNull();
    expect(loads).toBe(1);
    clock.advance(5_000); // the negative answer expired
    expect(await cacheAside(cache, 'k', load, ttl)).toBe('found');
    clock.advance(59_999);
    expect(await cacheAside(cache, 'k', load, ttl)).toBe('found');
    expect(loads).toBe(2);
  });
});

describe('readThrough', () => {
  it('loads each key once for concurrent callers and serves later reads from the cache', async () => {
    const { cache } = memory<string>();
    const loaded: string[] = [];
    const reader = readThrough(
      cache,
      async (key) => {
        loaded.push(key);
        await new Promise((r) => setTimeout(r, 5));
        return key.toUpperCase();
      },
      60_000,
    );
    const got = await Promise.all([...Array.from({ length: 50 }, () => reader.get('a')), reader.get('b')]);
    expect(got.slice(0, 50).every((v) => v === 'A')).toBe(true);
    expect(got[50]).toBe('B');
    expect(await reader.get('a')).toBe('A');
    expect(loaded.sort()).toEqual(['a', 'b']);
  });
});

describe('writeThrough', () => {
  it('writes the source, then the cache, so the next read hits the new value', async () => {
    const { cache } = memory<string>();
    const source = new Map<string, string>();
    const write = writeThrough(cache, async (k, v) => void source.set(k, v), 60_000);
    await write('k', 'v1');
    expect(source.get('k')).toBe('v1');
    expect(await cache.get('k')).toBe('v1');
  });

  it('does not touch the cache when the source write fails', async () => {
    const { cache } = memory<string>();
    await cache.set('k', 'old', 60_000);
    const write = writeThrough(cache, async () => Promise.reject(new Error('db down')), 60_000);
    await expect(write('k', 'new')).rejects.toThrow('db down');
    expect(await cache.get('k')).toBe('old');
  });

  it('deletes the key when the cache write fails, so no stale copy stays', async () => {
    const { cache: inner } = memory<string>();
    await inner.set('k', 'old', 60_000);
    const flaky: Cache<string> = { ...inner, set: () => Promise.reject(new Error('redis down')) };
    const source = new Map<string, string>();
    await writeThrough(flaky, async (k, v) => void source.set(k, v), 60_000)('k', 'new');
    expect(source.get('k')).toBe('new');
    expect(await inner.get('k')).toBeUndefined();
  });
});

describe('writeBehind', () => {
  it('caches at once, writes the source in one batch at the flush, newest value winning', async () => {
    const { cache } = memory<number>();
    const { timers, tick } = manualTimers();
    const batches: Map<string, number>[] = [];
    const wb = writeBehind(cache, 60_000, {
      flush: async (entries) => void batches.push(new Map(entries)),
      intervalMs: 1000,
      maxPending: 100,
      maxBuffered: 1000,
      timers,
    });
    await wb.write('a', 1);
    await wb.write('a', 2);
    await wb.write('b', 3);
    expect(await cache.get('a')).toBe(2);
    expect(batches).toHaveLength(0);
    tick();
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([new Map([['a', 2], ['b', 3]])]);
  });

  it('keeps a failed batch for the next flush and writes everything on close', async () => {
    const { cache } = memory<number>();
    const { timers, tick } = manualTimers();
    let fail = true;
    const written = new Map<string, number>();
    const errors: unknown[] = [];
    const wb = writeBehind(cache, 60_000, {
      flush: async (entries) => {
        if (fail) throw new Error('db down');
        for (const [k, v] of entries) written.set(k, v);
      },
      intervalMs: 1000,
      maxPending: 100,
      maxBuffered: 1000,
      timers,
      onError: (e) => errors.push(e),
    });
    await wb.write('a', 1);
    tick();
    await new Promise((r) => setImmediate(r));
    expect(errors).toHaveLength(1);
    expect(wb.buffer.stats().pending).toBe(1);
    await wb.write('a', 5);
    fail = false;
    await wb.close();
    expect(written).toEqual(new Map([['a', 5]]));
    expect(await wb.write('late', 1)).toBe(false); // closed: dropped and counted
    expect(wb.buffer.stats().dropped).toBe(1);
  });
});

import type { Cache } from './cache.js';
import { ttlOf, type TtlFor } from './cache-aside.js';
import { Singleflight } from './singleflight.js';

/** A cache that loads on its own: callers only ever ask it. */
export interface ReadThrough<V> {
  get(key: string): Promise<V>;
}

/**
 * Read-through (chapter §4.2): the loader is configured once, with the cache, and callers
 * only call get(): the cache fills itself on a miss. Concurrent misses of one key in this
 * process share one load.
 *
 * The difference from cache-aside is ownership, not mechanics: one place decides how a key is
 * loaded and for how long it is kept, so callers cannot disagree about it.
 */
export function readThrough<V>(cache: Cache<V>, load: (key: string) => Promise<V>, ttl: TtlFor<V>): ReadThrough<V> {
  const flight = new Singleflight<string, V>();
  return {
    async get(key) {
      const hit = await cache.get(key);
      if (hit !== undefined) return hit;
      return flight.do(key, async () => {
        const value = await load(key);
        await cache.set(key, value, ttlOf(ttl, value));
        return value;
      });
    },
  };
}

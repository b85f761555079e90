import type { Cache } from './cache.js';

/** A TTL for every value, or one chosen per value (e.g. shorter for "not found" answers). */
export type TtlFor<V> = number | ((value: V) => number);

export function ttlOf<V>(ttl: TtlFor<V>, value: V): number {
  return typeof ttl === 'number' ? ttl : ttl(value);
}

/**
 * Cache-aside (chapter §4.2), the pattern of the redirect path: the caller looks in the cache;
 * on a miss it loads from the source and stores the result. The cache knows nothing of the
 * source. Writers change the source and then delete the key (not set it: two writers racing
 * could leave the older value cached, a delete cannot).
 *
 * On its own this lets N concurrent misses load N times: pair it with a Singleflight (one
 * process) or the StampedeGuard (many processes).
 */
export async function cacheAside<V>(cache: Cache<V>, key: string, load: () => Promise<V>, ttl: TtlFor<V>): Promise<V> {
  const hit = await cache.get(key);
  if (hit !== undefined) return hit;
  const value = await load();
  await cache.set(key, value, ttlOf(ttl, value));
  return value;
}

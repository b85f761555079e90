import type { Cache } from './cache.js';
import { ttlOf, type TtlFor } from './cache-aside.js';

/**
 * Write-through (chapter §4.2): a write goes to the source of truth and then to the cache,
 * before the caller gets an answer, so the next read hits. Returns the writer.
 *
 * The source is written first: a cache that fails cannot lose data. If the cache write fails
 * the key is deleted instead (a stale copy must not outlive the write); if that fails too, the
 * error reaches the caller, whose data is nonetheless stored.
 *
 * Two writers of one key racing can leave the older value cached (writes can reach the cache
 * in the other order); where that matters, delete on write (cache-aside) instead.
 */
export function writeThrough<V>(
  cache: Cache<V>,
  write: (key: string, value: V) => Promise<void>,
  ttl: TtlFor<V>,
): (key: string, value: V) => Promise<void> {
  return async (key, value) => {
    await write(key, value);
    try {
      await cache.set(key, value, ttlOf(ttl, value));
    } catch {
      await cache.delete(key);
    }
  };
}

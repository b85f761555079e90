import type { Cache } from './cache.js';
import { ttlOf, type TtlFor } from './cache-aside.js';
import { WriteBehindBuffer, type WriteBehindOptions } from './write-behind-buffer.js';

export interface WriteBehind<V> {
  /** Caches `value` now; the source gets it at the next flush. False when the buffer dropped it. */
  write(key: string, value: V): Promise<boolean>;
  /** Writes everything buffered (graceful shutdown); rejects if the source write fails. */
  close(): Promise<void>;
  readonly buffer: WriteBehindBuffer<string, V>;
}

/** The newer value wins: the merge for values that replace each other (not counters). */
export function latest<V>(_older: V, newer: V): V {
  return newer;
}

/**
 * Write-behind (chapter §4.2): a write lands in the cache at once and in the source later, in
 * batches, through the bounded WriteBehindBuffer (flushed every intervalMs, when maxPending keys
 * wait, and on close; a failed flush keeps its entries for the next one).
 *
 * What it costs (defect 8 in DESIGN.md): until the flush, the only copy is in this process's
 * memory, so a crash loses up to intervalMs of writes (more while the source is failing); and
 * a reader must get the value from the cache, so the cache TTL must exceed the flush interval.
 * tny uses it where losing a moment is acceptable and values merge: click counts.
 */
export function writeBehind<V>(
  cache: Cache<V>,
  ttl: TtlFor<V>,
  options: Omit<WriteBehindOptions<string, V>, 'merge'> & { merge?: (older: V, newer: V) => V },
): WriteBehind<V> {
  const buffer = new WriteBehindBuffer<string, V>({ ...options, merge: options.merge ?? latest });
  return {
    buffer,
    async write(key, value) {
      await cache.set(key, value, ttlOf(ttl, value));
      return buffer.add(key, value);
    },
    close: () => buffer.close(),
  };
}

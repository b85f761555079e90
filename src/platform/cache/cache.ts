/**
 * The cache port: the three calls tny makes of any cache tier (the in-process LRU, Redis, or
 * both stacked). Values are whatever the tier can hold; a Redis tier serialises them as JSON.
 * Every entry has a TTL (> 0 ms): nothing is cached forever by accident.
 */
export interface Cache<V> {
  /** The value, or undefined when absent or expired. */
  get(key: string): Promise<V | undefined>;
  set(key: string, value: V, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
}

/**
 * A value with what early refresh and serve-stale need to know about it. Stored as is in the
 * shared tier, so every process sees the same freshness.
 */
export interface Stamped<V> {
  value: V;
  /** Epoch ms until which the value is fresh; after it, it may be served stale while refreshed. */
  freshUntil: number;
  /** How long loading it took (ms): XFetch's delta. */
  delta: number;
}

/** Refuses TTLs a tier could not honour: 0, negative, NaN, Infinity. */
export function checkTtl(ttlMs: number): void {
  if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) throw new RangeError(`ttlMs must be finite and > 0, got ${ttlMs}`);
}

import { LRUCache } from 'lru-cache';
import { systemClock, type Clock } from '../clock.js';
import { coarseSystemClock } from './coarse-clock.js';

export interface LocalCacheOptions {
  /** Most entries held; the least recently used is evicted beyond it. */
  max: number;
  /** Default (and in place of systemClock): the system clock read at most once per ms. */
  clock?: Clock;
}

export interface LocalCacheStats {
  hits: number;
  misses: number;
  size: number;
}

interface Entry<V> {
  value: V;
  expiresAt: number;
}

/**
 * An in-process LRU (the L1 cache) whose entries each carry their own expiry, read from an
 * injected clock, so TTLs can be tested with fake time and every `set` may choose a
 * (jittered) TTL. lru-cache's own ttl is deliberately not used.
 *
 * `get()` is on the redirect hot path and allocates nothing: the entry objects are reused
 * on overwrite and lru-cache is handed one shared options object (its default parameter
 * would otherwise allocate a fresh `{}` per call).
 *
 * Expired entries are removed when read or when evicted by LRU pressure; until then they
 * count in `size`.
 *
 * Given the system clock (or none), it reads time through coarseSystemClock instead: a clock
 * read per hit would cost more than the lookup (bench/platform/cache.ts). Expiry may then be
 * noticed up to one event-loop turn late. An injected fake clock is used as is.
 */
export class LocalCache<V> {
  private readonly lru: LRUCache<string, Entry<V>>;
  private readonly clock: Clock;
  /** Reused for every lru.get(); lru-cache writes `status` into it, reset after each call. */
  private readonly getOptions: LRUCache.GetOptions<string, Entry<V>, unknown> = {};
  private hits = 0;
  private misses = 0;

  constructor(options: LocalCacheOptions) {
    if (!Number.isSafeInteger(options.max) || options.max < 1) {
      throw new RangeError(`LocalCache max must be a positive integer, got ${options.max}`);
    }
    this.lru = new LRUCache<string, Entry<V>>({ max: options.max });
    this.clock = options.clock === undefined || options.clock === systemClock ? coarseSystemClock : options.clock;
  }

  /** The value, or undefined when absent or expired (an expired entry is deleted). */
  get(key: string): V | undefined {
    const entry = this.lru.get(key, this.getOptions);
    this.getOptions.status = undefined;
    if (entry === undefined) {
      this.misses++;
      return undefined;
    }
    if (entry.expiresAt <= this.clock.now()) {
      this.lru.delete(key);
      this.misses++;
      return undefined;
    }
    this.hits++;
    return entry.value;
  }

  /** Store `value` for `ttlMs` (> 0; `Infinity` means until evicted). */
  set(key: string, value: V, ttlMs: number): void {
    if (!(ttlMs > 0)) throw new RangeError(`ttlMs must be > 0, got ${ttlMs}`);
    const expiresAt = this.clock.now() + ttlMs;
    const existing = this.lru.peek(key);
    if (existing !== undefined) {
      existing.value = value;
      existing.expiresAt = expiresAt;
      this.lru.set(key, existing); // same object: only refreshes recency
      return;
    }
    this.lru.set(key, { value, expiresAt });
  }

  /** True when an entry was removed. */
  delete(key: string): boolean {
    return this.lru.delete(key);
  }

  clear(): void {
    this.lru.clear();
  }

  /** Entries held, including expired ones not yet read or evicted. */
  get size(): number {
    return this.lru.size;
  }

  stats(): LocalCacheStats {
    return { hits: this.hits, misses: this.misses, size: this.lru.size };
  }
}

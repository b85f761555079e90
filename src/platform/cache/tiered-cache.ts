import type { Cache } from './cache.js';
import { checkTtl } from './cache.js';
import { FillTracker } from './fill-tracker.js';
import type { LocalCache } from './local-cache.js';

/** The in-process LRU as a cache tier. */
export function localTier<V>(local: LocalCache<V>): Cache<V> {
  return {
    get: async (key) => local.get(key),
    set: async (key, value, ttlMs) => local.set(key, value, ttlMs),
    delete: async (key) => {
      local.delete(key);
    },
  };
}

export interface TieredCacheOptions {
  /**
   * Longest an L1 entry lives. L1 copies of an L2 value are not told about changes made by
   * other processes unless an invalidation bus calls dropLocal(); this bounds the staleness
   * when there is none, or when a message is lost.
   */
  l1TtlMs: number;
  /** An L2 read or write failed; the cache carries on with L1 (a read counts as a miss). */
  onError?(err: unknown): void;
}

/**
 * Two tiers behind one Cache<V> (chapter §4, DESIGN "scale-out"): L1 in process (fast, per
 * process), L2 shared (Redis). A read tries L1, then L2, and copies an L2 hit into L1; a write
 * goes to L2 then L1; a delete removes both (and a read of L2 in flight when it happens is not
 * copied into L1 afterwards).
 *
 * L2 failing makes the cache degrade to L1 rather than fail: reads miss, writes reach L1 only
 * (both reported to onError). A failed delete rejects, since the caller's next read could
 * otherwise see the old value from L2.
 */
export class TieredCache<V> implements Cache<V> {
  private readonly fills = new FillTracker();

  constructor(
    private readonly l1: LocalCache<V>,
    private readonly l2: Cache<V>,
    private readonly options: TieredCacheOptions,
  ) {
    checkTtl(options.l1TtlMs);
  }

  /** L1 only, synchronously: the hot path of callers that can answer without awaiting. */
  peek(key: string): V | undefined {
    return this.l1.get(key);
  }

  async get(key: string): Promise<V | undefined> {
    const hit = this.l1.get(key);
    if (hit !== undefined) return hit;
    const fill = this.fills.begin(key);
    let value: V | undefined;
    try {
      value = await this.l2.get(key);
    } catch (err) {
      this.options.onError?.(err);
    }
    if (this.fills.end(fill) && value !== undefined) this.l1.set(key, value, this.options.l1TtlMs);
    return value;
  }

  async set(key: string, value: V, ttlMs: number): Promise<void> {
    checkTtl(ttlMs);
    this.fills.invalidate(key);
    try {
      await this.l2.set(key, value, ttlMs);
    } catch (err) {
      this.options.onError?.(err);
    }
    this.l1.set(key, value, Math.min(ttlMs, this.options.l1TtlMs));
  }

  async delete(key: string): Promise<void> {
    this.dropLocal(key);
    await this.l2.delete(key);
  }

  /** Forgets the L1 copy only (another process changed the key; L2 is already current). */
  dropLocal(key: string): void {
    this.l1.delete(key);
    this.fills.invalidate(key);
  }

  /** Forgets every L1 copy (invalidation messages may have been lost). */
  clearLocal(): void {
    this.l1.clear();
    this.fills.invalidateAll();
  }
}

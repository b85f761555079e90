import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import type { RateLimitDecision, RateLimiter } from './types.js';

export interface TokenBucketOptions {
  /** Most tokens a bucket holds: the burst allowance and `limit` in decisions. */
  capacity: number;
  /** Tokens added per second, continuously. */
  refillPerSecond: number;
  clock: Clock;
  /** Most keys tracked; the least recently used is forgotten (and starts full again). */
  maxKeys: number;
}

interface Bucket {
  /** Tokens × 1000, so whole-millisecond refills at whole rates stay exact integers. */
  milliTokens: number;
  updatedAt: number;
}

/** Absorbs float error for fractional rates, so a retry at exactly retryAfterMs succeeds. */
const EPSILON = 1e-6;

/**
 * An in-process token bucket (chapter §8 rate limiting) for the embedded mode; the Redis
 * one does the same in one atomic script.
 *
 * Each key's bucket refills continuously by elapsed time; a request of `cost` is allowed iff
 * that many tokens are there, and a refused request takes nothing. Memory is bounded by
 * `maxKeys`: an evicted key simply starts full again (so a flood of distinct keys can reset
 * a limited one; size maxKeys well above the active key count).
 *
 * A cost above capacity can never be allowed. Rather than an infinite Retry-After, such a
 * request is refused with retryAfterMs = the time until the bucket is full (resetMs), at
 * least 1 ms so a refusal never says "retry now". Callers that accept a client-chosen cost
 * should reject cost > limit up front (it will never pass).
 */
export class MemoryTokenBucket implements RateLimiter {
  private readonly buckets: LRUCache<string, Bucket>;
  private readonly capacityMilli: number;
  /** milliTokens added per millisecond (= tokens per second). */
  private readonly ratePerMs: number;

  constructor(private readonly options: TokenBucketOptions) {
    const { capacity, refillPerSecond, maxKeys } = options;
    if (!(capacity > 0) || !Number.isFinite(capacity)) throw new RangeError(`capacity must be > 0, got ${capacity}`);
    if (!(refillPerSecond > 0) || !Number.isFinite(refillPerSecond)) {
      throw new RangeError(`refillPerSecond must be > 0, got ${refillPerSecond}`);
    }
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new RangeError(`maxKeys must be a positive integer, got ${maxKeys}`);
    this.buckets = new LRUCache<string, Bucket>({ max: maxKeys });
    this.capacityMilli = capacity * 1000;
    this.ratePerMs = refillPerSecond;
  }

  async consume(key: string, cost = 1): Promise<RateLimitDecision> {
    return this.take(key, cost);
  }

  /** The synchronous core of consume(). */
  take(key: string, cost = 1): RateLimitDecision {
    if (!(cost >= 0) || !Number.isFinite(cost)) throw new RangeError(`cost must be finite and ≥ 0, got ${cost}`);
    const now = this.options.clock.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { milliTokens: this.capacityMilli, updatedAt: now };
      this.buckets.set(key, bucket);
    } else if (now > bucket.updatedAt) {
      const refilled = bucket.milliTokens + (now - bucket.updatedAt) * this.ratePerMs;
      bucket.milliTokens = Math.min(this.capacityMilli, refilled);
      bucket.updatedAt = now;
    }
    // A clock that stepped back adds nothing and keeps updatedAt, so no time is counted twice.

    const need = cost * 1000;
    if (need <= this.capacityMilli && bucket.milliTokens + EPSILON >= need) {
      bucket.milliTokens = Math.max(0, bucket.milliTokens - need);
      return this.decision(true, bucket.milliTokens, 0);
    }
    const retryAfterMs =
      need > this.capacityMilli
        ? Math.max(1, this.msUntil(this.capacityMilli, bucket.milliTokens))
        : this.msUntil(need, bucket.milliTokens);
    return this.decision(false, bucket.milliTokens, retryAfterMs);
  }

  private decision(allowed: boolean, milliTokens: number, retryAfterMs: number): RateLimitDecision {
    return {
      allowed,
      limit: this.options.capacity,
      remaining: Math.floor((milliTokens + EPSILON) / 1000),
      resetMs: this.msUntil(this.capacityMilli, milliTokens),
      retryAfterMs,
    };
  }

  /** Whole milliseconds until the bucket holds `target` milliTokens. */
  private msUntil(target: number, milliTokens: number): number {
    const missing = target - milliTokens;
    if (missing <= EPSILON) return 0;
    return Math.ceil(missing / this.ratePerMs - EPSILON);
  }
}

/** The result of one rate-limit check, enough to fill `RateLimit-*` and `Retry-After`. */
export interface RateLimitDecision {
  allowed: boolean;
  /** The limit (bucket capacity / window allowance). */
  limit: number;
  /** Whole requests (of cost 1) still allowed right now, after this one. */
  remaining: number;
  /** Milliseconds until the allowance is fully restored if nothing else is asked. */
  resetMs: number;
  /**
   * Milliseconds until this request (same cost) would be allowed; 0 when allowed. A cost
   * above the limit can never pass: it is refused with max(1, resetMs).
   */
  retryAfterMs: number;
}

/** The one port every limiter implements, whatever the algorithm and store. */
export interface RateLimiter {
  consume(key: string, cost?: number): Promise<RateLimitDecision>;
}

/** A short name for the decision, as the issue calls it. */
export type Decision = RateLimitDecision;

export const RATE_LIMIT_ALGORITHMS = ['fixed-window', 'sliding-log', 'sliding-counter', 'token-bucket', 'gcra'] as const;
export type RateLimitAlgorithm = (typeof RATE_LIMIT_ALGORITHMS)[number];

/**
 * "At most `limit` per `windowMs`", read by each algorithm in its own way:
 *
 * - fixed-window: `limit` per calendar window `[k·W, (k+1)·W)` (can admit 2× across an edge).
 * - sliding-log: `limit` in any interval of length W, exactly (one timestamp per unit).
 * - sliding-counter: `limit` in any interval of length W, never more, with `subWindows`
 *   counters per key instead of a log (it may refuse up to one sub-window's worth early).
 * - token-bucket: bursts of up to `limit`, refilled continuously at `limit / W`.
 * - gcra: the same admissions as token-bucket, one timestamp of state per key.
 */
export interface RateLimitRule {
  algorithm: RateLimitAlgorithm;
  /** Requests (cost units) per window; also the burst for token-bucket and GCRA. */
  limit: number;
  /** The window in milliseconds; for token-bucket/GCRA, the time to refill `limit`. */
  windowMs: number;
  /** sliding-counter only: counters per window (default 10). */
  subWindows?: number;
}

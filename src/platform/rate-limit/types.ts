/** The result of one rate-limit check, enough to fill `RateLimit-*` and `Retry-After`. */
export interface RateLimitDecision {
  allowed: boolean;
  /** The limit (bucket capacity / window allowance). */
  limit: number;
  /** Whole requests still allowed right now. */
  remaining: number;
  /** Milliseconds until the allowance is fully restored. */
  resetMs: number;
  /** Milliseconds until this request would be allowed; 0 when allowed. */
  retryAfterMs: number;
}

export interface RateLimiter {
  consume(key: string, cost?: number): Promise<RateLimitDecision>;
}

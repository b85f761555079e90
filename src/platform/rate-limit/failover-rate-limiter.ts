import { checkCost } from './rules.js';
import type { StoreOutage } from './store-outage.js';
import type { RateLimitDecision, RateLimiter } from './types.js';

/** What a check does when the shared store cannot answer. */
export const RATE_LIMIT_FAILURE_POLICIES = ['open', 'closed', 'local'] as const;
export type RateLimitFailurePolicy = (typeof RATE_LIMIT_FAILURE_POLICIES)[number];

export interface FailoverOptions {
  policy: RateLimitFailurePolicy;
  /** The in-process limiter of the same rule, used under `local`. */
  local: RateLimiter;
  /** The limit reported in decisions made by `open` and `closed`. */
  limit: number;
  outage: StoreOutage;
  /** A store answer slower than this counts as a failure (the check does not wait longer). */
  timeoutMs: number;
  /** Retry-After of a `closed` refusal. */
  closedRetryAfterMs?: number;
  /** Every check decided by the policy instead of the store (count it in a metric). */
  onFailure?: (policy: RateLimitFailurePolicy, error: unknown) => void;
}

class StoreTimeout extends Error {
  constructor(ms: number) {
    super(`rate-limit store did not answer within ${ms} ms`);
    this.name = 'StoreTimeout';
  }
}

/**
 * The shared limiter with a failure policy: `open` allows (availability over limits),
 * `closed` refuses (limits over availability), `local` falls back to an in-process limiter
 * of the same algorithm (limits hold per process, so N processes admit up to N × limit
 * while the store is down). A late answer after the timeout is ignored; the store may still
 * have counted it.
 */
export class FailoverRateLimiter implements RateLimiter {
  private lastError: unknown = undefined;

  constructor(private readonly shared: RateLimiter, private readonly options: FailoverOptions) {
    if (!(options.timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${options.timeoutMs}`);
  }

  async consume(key: string, cost = 1): Promise<RateLimitDecision> {
    checkCost(cost); // a bad cost is the caller's bug, not an outage
    const { outage } = this.options;
    if (!outage.shouldTry()) {
      outage.skipped();
      return this.fallback(key, cost, this.lastError);
    }
    let decision: RateLimitDecision;
    try {
      decision = await this.withTimeout(this.shared.consume(key, cost));
    } catch (err) {
      this.lastError = err;
      outage.failed(err);
      return this.fallback(key, cost, err);
    }
    outage.succeeded();
    return decision;
  }

  private fallback(key: string, cost: number, error: unknown): Promise<RateLimitDecision> | RateLimitDecision {
    const { policy, limit } = this.options;
    this.options.onFailure?.(policy, error);
    if (policy === 'local') return this.options.local.consume(key, cost);
    if (policy === 'open') return { allowed: true, limit, remaining: limit, resetMs: 0, retryAfterMs: 0 };
    const wait = this.options.closedRetryAfterMs ?? 1000;
    return { allowed: false, limit, remaining: 0, resetMs: wait, retryAfterMs: wait };
  }

  private withTimeout<T>(pending: Promise<T>): Promise<T> {
    const ms = this.options.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreTimeout(ms)), ms);
    });
    return Promise.race([pending, timeout]).finally(() => clearTimeout(timer));
  }
}

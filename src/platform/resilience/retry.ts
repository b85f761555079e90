import { systemClock, type Clock } from '../clock.js';
import { exponentialBackoff, type Backoff } from './backoff.js';
import { isRetryable, retryAfterOf } from './errors.js';
import { Listeners } from './events.js';
import { NEVER_ABORTED, type Policy, type PolicyFn } from './policy.js';
import type { RetryBudget } from './retry-budget.js';
import { sleep, systemTimers, type Timers } from './timers.js';

export interface RetryOptions {
  /** Attempts in all, the first included. Default 3. */
  maxAttempts?: number;
  /** No retry is started that would begin later than this after the first attempt. Default ∞. */
  maxElapsedMs?: number;
  /** Default: full jitter, 100 ms base, 10 s cap. */
  backoff?: Backoff;
  /** Which errors to retry. Default `isRetryable`: only errors marked retryable. */
  isRetryable?: (err: unknown) => boolean;
  /** Shared retry budget; without one, retries are limited only by maxAttempts. */
  budget?: RetryBudget;
  /**
   * A Retry-After longer than this gives up at once (throwing the error, which still carries
   * retryAfterMs) instead of holding the call: a queue can wait durably, a caller cannot.
   * Default 60,000 ms.
   */
  maxRetryAfterMs?: number;
  clock?: Clock;
  timers?: Timers;
}

export type GiveUpReason = 'not-retryable' | 'max-attempts' | 'max-elapsed' | 'budget' | 'retry-after-too-long' | 'aborted';

export type RetryEvent =
  | { type: 'retry'; attempt: number; delayMs: number; error: unknown; retryAfterMs: number | undefined }
  | { type: 'give-up'; attempts: number; reason: GiveUpReason; error: unknown };

/**
 * Retry with exponential backoff and jitter (chapter §9.2), fixing the chapter's sketch
 * (defect 6 in DESIGN.md):
 * - only errors marked retryable are retried (the sketch's ConnectionError/TimeoutError list
 *   becomes a classifier; unknown errors are not retried);
 * - the delay is capped after jitter (see backoff.ts);
 * - a `Retry-After` (`err.retryAfterMs`) is honoured: the wait is at least that long;
 * - a retry budget stops retries multiplying load during an outage;
 * - maxElapsedMs bounds the whole call, not just the number of attempts;
 * - waits are abortable: an aborted signal stops the next attempt at once.
 *
 * The last error is thrown unchanged when retrying stops; `on()` says why (give-up event).
 * Retry only idempotent operations, or pass an idempotency key, since a failed attempt may
 * have taken effect.
 */
export class RetryPolicy implements Policy {
  declare readonly _alt: never;
  private readonly events = new Listeners<RetryEvent>();
  private readonly maxAttempts: number;
  private readonly maxElapsedMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly backoff: Backoff;
  private readonly retryable: (err: unknown) => boolean;
  private readonly clock: Clock;
  private readonly timers: Timers;

  constructor(private readonly options: RetryOptions = {}) {
    const { maxAttempts = 3, maxElapsedMs = Infinity, maxRetryAfterMs = 60_000 } = options;
    if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) throw new RangeError(`maxAttempts must be an integer ≥ 1, got ${maxAttempts}`);
    if (!(maxElapsedMs >= 0)) throw new RangeError(`maxElapsedMs must be ≥ 0, got ${maxElapsedMs}`);
    if (!(maxRetryAfterMs >= 0)) throw new RangeError(`maxRetryAfterMs must be ≥ 0, got ${maxRetryAfterMs}`);
    this.maxAttempts = maxAttempts;
    this.maxElapsedMs = maxElapsedMs;
    this.maxRetryAfterMs = maxRetryAfterMs;
    this.backoff = options.backoff ?? exponentialBackoff();
    this.retryable = options.isRetryable ?? isRetryable;
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
  }

  on(listener: (event: RetryEvent) => void): () => void {
    return this.events.on(listener);
  }

  async execute<T>(fn: PolicyFn<T>, signal: AbortSignal = NEVER_ABORTED): Promise<T> {
    const budget = this.options.budget;
    budget?.recordCall();
    const started = this.maxElapsedMs === Infinity ? 0 : this.clock.now();
    let previousMs = 0;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw signal.reason;
      try {
        return await fn({ signal, attempt });
      } catch (err) {
        const reason = this.refusal(err, attempt, signal);
        if (reason !== undefined) throw this.giveUp(attempt, reason, err);
        const retryAfterMs = retryAfterOf(err);
        if (retryAfterMs !== undefined && retryAfterMs > this.maxRetryAfterMs) {
          throw this.giveUp(attempt, 'retry-after-too-long', err);
        }
        const backoffMs = this.backoff.delay(attempt, previousMs);
        const delayMs = Math.max(backoffMs, retryAfterMs ?? 0);
        if (this.maxElapsedMs !== Infinity && this.clock.now() + delayMs - started > this.maxElapsedMs) {
          throw this.giveUp(attempt, 'max-elapsed', err);
        }
        if (budget !== undefined && !budget.tryRetry()) throw this.giveUp(attempt, 'budget', err);
        if (this.events.active) this.events.emit({ type: 'retry', attempt, delayMs, error: err, retryAfterMs });
        previousMs = backoffMs;
        try {
          await sleep(delayMs, this.timers, signal);
        } catch (abortReason) {
          throw this.giveUp(attempt, 'aborted', abortReason);
        }
      }
    }
  }

  private refusal(err: unknown, attempt: number, signal: AbortSignal): GiveUpReason | undefined {
    if (signal.aborted) return 'aborted';
    if (!this.retryable(err)) return 'not-retryable';
    if (attempt >= this.maxAttempts) return 'max-attempts';
    return undefined;
  }

  private giveUp(attempts: number, reason: GiveUpReason, error: unknown): unknown {
    if (this.events.active) this.events.emit({ type: 'give-up', attempts, reason, error });
    return error;
  }
}

export function retry(options?: RetryOptions): RetryPolicy {
  return new RetryPolicy(options);
}

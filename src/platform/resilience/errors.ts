/**
 * The resilience policies' error vocabulary (BullMQ-style: the thrower says whether trying
 * again can help). Provider adapters throw `RetryableError` (503, reset connection, 429 with
 * Retry-After) or `PermanentError` (400, unknown recipient); the policies throw the rest.
 *
 * Any error may also mark itself structurally with `retryable: true | false` (TnyError does)
 * and `retryAfterMs: number`, so adapters need not import these classes.
 *
 * Unmarked errors are neither: a breaker counts them as failures, retry does not retry them.
 * Retrying an unknown error is how a non-idempotent call gets sent twice.
 */

export interface RetryableErrorOptions {
  /** The server asked us to wait this long (e.g. from a Retry-After header). */
  retryAfterMs?: number;
  cause?: unknown;
}

/** A failure that trying again (later) can fix. */
export class RetryableError extends Error {
  readonly retryable = true;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: RetryableErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'RetryableError';
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** A failure that trying again cannot fix: never retried, never opens a breaker. */
export class PermanentError extends Error {
  readonly retryable = false;
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'PermanentError';
  }
}

/** The timeout policy's deadline passed. Retryable: the next attempt gets a fresh deadline. */
export class TimeoutError extends Error {
  readonly retryable = true;
  constructor(readonly timeoutMs: number) {
    super(`The call did not finish within ${timeoutMs} ms.`);
    this.name = 'TimeoutError';
  }
}

/**
 * The breaker refused the call without running it. Not marked retryable: retrying in a loop
 * is what the breaker exists to stop; a queue can reschedule after `retryAfterMs`.
 */
export class BrokenCircuitError extends Error {
  constructor(
    readonly state: 'open' | 'half-open',
    /** Until the breaker lets a probe through (0 in half-open: when a probe finishes). */
    readonly retryAfterMs: number,
  ) {
    super(state === 'open' ? 'The circuit is open.' : 'The circuit is half-open and its probes are taken.');
    this.name = 'BrokenCircuitError';
  }
}

/** The bulkhead's slots and queue were all taken. Not marked retryable (it is local overload). */
export class BulkheadRejectedError extends Error {
  constructor(
    readonly maxConcurrent: number,
    readonly maxQueue: number,
  ) {
    super(`The bulkhead is full (${maxConcurrent} running, ${maxQueue} queued).`);
    this.name = 'BulkheadRejectedError';
  }
}

function mark(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { retryable?: unknown }).retryable : undefined;
}

/** True only for errors marked retryable (RetryableError, TimeoutError, `retryable: true`). */
export function isRetryable(err: unknown): boolean {
  return mark(err) === true;
}

/** True for errors marked permanent (PermanentError, `retryable: false`). */
export function isPermanent(err: unknown): boolean {
  return mark(err) === false;
}

/** The wait an error asks for, if it carries a finite, non-negative `retryAfterMs`. */
export function retryAfterOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const ms = (err as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

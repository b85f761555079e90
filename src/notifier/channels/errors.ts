import { PermanentError, RetryableError } from '../../platform/resilience/errors.js';
import { parseRetryAfter } from '../../platform/resilience/retry-after.js';

/**
 * The contact point itself is dead (unknown mailbox, unregistered device token, a push
 * subscription the push service answers 404/410 for, a webhook URL that resolves to a refused
 * address). Permanent, and the notifier marks the contact invalid so it is not tried again.
 */
export class InvalidContactError extends PermanentError {
  readonly invalidContact = true;
  constructor(
    message: string,
    /** The provider's reason, e.g. `Unregistered`, `UNREGISTERED`, `550`. */
    readonly reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = 'InvalidContactError';
  }
}

export function isInvalidContact(err: unknown): err is InvalidContactError {
  return typeof err === 'object' && err !== null && (err as { invalidContact?: unknown }).invalidContact === true;
}

/**
 * The generic reading of an HTTP failure status: 408, 425, 429 and 5xx can pass if tried again
 * (429/503 with the wait the server asked for), every other 4xx (and a 3xx we refuse to follow)
 * cannot. Adapters check their protocol's invalid-contact answers before falling back to this.
 * `what` names the provider; the message never contains request headers or bodies we sent.
 */
export function httpFailure(
  what: string,
  status: number,
  retryAfter: string | string[] | undefined,
  nowMs: number,
  detail = '',
): RetryableError | PermanentError {
  const suffix = detail === '' ? '' : ` (${detail})`;
  if (status === 408 || status === 425 || status === 429 || status >= 500) {
    const header = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
    return new RetryableError(`${what} answered ${status}${suffix}.`, {
      retryAfterMs: parseRetryAfter(header, nowMs),
    });
  }
  return new PermanentError(`${what} answered ${status}${suffix}.`);
}

/**
 * A failure before any answer (refused, reset, DNS, TLS, our own abort). Errors that already
 * say whether they are retryable (ours, the timeout policy's) pass through; an abort becomes
 * the signal's reason, so the caller's TimeoutError surfaces as itself. Anything else is a
 * transport failure: retryable, because the provider never answered.
 */
export function transportFailure(what: string, err: unknown, signal: AbortSignal): Error {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof Error) return reason;
    return new RetryableError(`${what}: the call was aborted.`, { cause: reason });
  }
  if (typeof err === 'object' && err !== null && typeof (err as { retryable?: unknown }).retryable === 'boolean') {
    return err as Error;
  }
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return new RetryableError(`${what} could not be reached${typeof code === 'string' ? ` (${code})` : ''}.`, {
    cause: err,
  });
}

/**
 * The one interface every resilience policy implements (cockatiel-style): `execute` runs a
 * function under the policy and hands it a context carrying the AbortSignal it must pass to
 * its I/O. Policies compose with `wrap()`.
 */

export interface PolicyContext {
  /** Aborted when the caller gives up or a timeout fires: pass it to fetch/undici/ioredis. */
  readonly signal: AbortSignal;
  /** 1 for the first attempt, 2 for the first retry… Set by `retry`; absent without one. */
  readonly attempt?: number;
}

export type PolicyFn<T> = (ctx: PolicyContext) => PromiseLike<T> | T;

/**
 * `Alt` is what the policy may return instead of the function's result (a fallback's value);
 * `never` for every other policy. `_alt` exists only for the type checker (declared, never set).
 */
export interface Policy<Alt = never> {
  readonly _alt: Alt;
  execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T | Alt>;
}

/** The `Alt` of a policy type. */
export type AltOf<P> = P extends Policy<infer A> ? A : never;

/**
 * The signal used when the caller passes none. Never aborted; shared so a call without a
 * signal allocates no AbortController.
 */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal;

/** The context for a caller that passed no signal, shared for the same reason. */
export const DEFAULT_CONTEXT: PolicyContext = Object.freeze({ signal: NEVER_ABORTED });

export function contextFor(signal: AbortSignal): PolicyContext {
  return signal === NEVER_ABORTED ? DEFAULT_CONTEXT : { signal };
}

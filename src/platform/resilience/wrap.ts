import { NEVER_ABORTED, type AltOf, type Policy, type PolicyContext, type PolicyFn } from './policy.js';

/**
 * Composes policies, outermost first: `wrap(fallback, retry, breaker, timeout)` runs the call
 * under a timeout, inside the breaker, retried, with a fallback for what still fails. Each
 * policy passes its signal inwards (a timeout's abort reaches the function; an outer abort
 * reaches everything) and the context the function sees is the innermost one, carrying the
 * `attempt` of a retry further out.
 *
 * Order matters, e.g. timeout inside retry gives each attempt its own deadline; outside, one
 * deadline for all attempts. The docs page recommends an order for provider calls.
 */
export class WrappedPolicy<Alt> implements Policy<Alt> {
  declare readonly _alt: Alt;
  readonly policies: readonly Policy<unknown>[];

  constructor(policies: readonly Policy<unknown>[]) {
    if (policies.length === 0) throw new RangeError('wrap() needs at least one policy');
    this.policies = policies;
  }

  execute<T>(fn: PolicyFn<T>, signal: AbortSignal = NEVER_ABORTED): Promise<T | Alt> {
    const { policies } = this;
    const run = (i: number, outer: PolicyContext): Promise<unknown> =>
      (policies[i] as Policy<unknown>).execute((ctx) => {
        const merged = merge(outer, ctx);
        return i + 1 === policies.length ? fn(merged) : run(i + 1, merged);
      }, outer.signal);
    return run(0, { signal }) as Promise<T | Alt>;
  }
}

/**
 * The inner context, with the outer `attempt` when the inner one has none. Built without
 * spreading, which would read (and so create) a timeout's lazy signal.
 */
function merge(outer: PolicyContext, inner: PolicyContext): PolicyContext {
  const attempt = outer.attempt;
  if (attempt === undefined || inner.attempt !== undefined) return inner;
  return {
    get signal() {
      return inner.signal;
    },
    attempt,
  };
}

export function wrap<P extends readonly Policy<any>[]>(...policies: P): WrappedPolicy<AltOf<P[number]>> {
  return new WrappedPolicy(policies);
}

import { Listeners } from './events.js';
import { contextFor, NEVER_ABORTED, type Policy, type PolicyContext, type PolicyFn } from './policy.js';

export interface FallbackOptions {
  /** Which errors the fallback answers. Default: all. */
  handles?: (err: unknown) => boolean;
}

/**
 * A fallback (chapter §9.2: serve from cache, a default value, or a degraded path when the
 * main path fails): a failure the fallback handles becomes its value. It never answers for a
 * caller that aborted (the caller no longer wants a value), and an error thrown by the
 * fallback itself reaches the caller.
 *
 * `on()` reports every use, so a fallback that hides an outage is still visible in metrics.
 */
export class FallbackPolicy<F> implements Policy<F> {
  declare readonly _alt: F;
  private readonly events = new Listeners<{ error: unknown }>();
  private readonly handles: (err: unknown) => boolean;

  constructor(
    private readonly alternative: (err: unknown, ctx: PolicyContext) => F | PromiseLike<F>,
    options: FallbackOptions = {},
  ) {
    this.handles = options.handles ?? (() => true);
  }

  on(listener: (event: { error: unknown }) => void): () => void {
    return this.events.on(listener);
  }

  async execute<T>(fn: PolicyFn<T>, signal: AbortSignal = NEVER_ABORTED): Promise<T | F> {
    const ctx = contextFor(signal);
    try {
      return await fn(ctx);
    } catch (err) {
      if (signal.aborted || !this.handles(err)) throw err;
      if (this.events.active) this.events.emit({ error: err });
      return await this.alternative(err, ctx);
    }
  }
}

export function fallback<F>(alternative: (err: unknown, ctx: PolicyContext) => F | PromiseLike<F>, options?: FallbackOptions): FallbackPolicy<F> {
  return new FallbackPolicy(alternative, options);
}

import type { CheckedRule } from '../rules.js';
import { allowed, ceilMs, EPSILON, refused, type MemoryAlgorithm } from './algorithm.js';

interface GcraState {
  /** Theoretical arrival time: when the allowance would be whole again. */
  tat: number;
}

/**
 * The generic cell rate algorithm: one number per key. Each unit pushes the theoretical
 * arrival time (TAT) on by the emission interval T = W / limit; a request is allowed iff the
 * pushed TAT is at most W ahead of now. It admits exactly what a token bucket of `limit`
 * refilled over W admits, with one timestamp of state instead of two fields, which makes its
 * Redis script a GET and a SET.
 */
export function gcra(rule: CheckedRule): MemoryAlgorithm<GcraState> {
  const { limit, windowMs } = rule;
  const interval = windowMs / limit;
  const remaining = (tat: number, now: number) => Math.max(0, Math.floor((windowMs - (tat - now)) / interval + EPSILON));

  return {
    create: (now) => ({ tat: now }),
    consume(state, now, cost) {
      // A TAT in the past means a full allowance; one in the future survives a clock step back.
      const tat = Math.max(state.tat, now);
      const pushed = tat + cost * interval;
      if (cost <= limit && pushed - now <= windowMs + EPSILON) {
        state.tat = pushed;
        return allowed(limit, remaining(pushed, now), ceilMs(pushed - now));
      }
      const resetMs = ceilMs(tat - now);
      return refused(limit, remaining(tat, now), resetMs, cost > limit ? resetMs : ceilMs(pushed - windowMs - now));
    },
  };
}

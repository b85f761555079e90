import type { RateLimitDecision } from '../types.js';

/**
 * One algorithm's in-process state machine. `consume` decides at `now` and, when allowed,
 * records `cost` by mutating `state` (the limiter keeps one state per key). A refused request
 * changes nothing. `now` may be earlier than a previous call (a clock stepped back): every
 * algorithm then counts no time twice and never forgets a recorded request early.
 */
export interface MemoryAlgorithm<S> {
  create(now: number): S;
  consume(state: S, now: number, cost: number): RateLimitDecision;
}

/**
 * Tolerance for time spans in ms (1 µs): absorbs float error so that a retry at exactly
 * retryAfterMs is allowed. Epoch milliseconds (~1.8e12) carry an error of ~2.4e-4 ms per
 * operation, so a tighter tolerance would misjudge exact edges; Redis TIME has µs resolution.
 */
export const EPSILON = 1e-3;

/** Whole milliseconds, rounded up, for a span that may carry float noise; never negative. */
export function ceilMs(ms: number): number {
  return ms <= EPSILON ? 0 : Math.ceil(ms - EPSILON);
}

export function allowed(limit: number, remaining: number, resetMs: number): RateLimitDecision {
  return { allowed: true, limit, remaining, resetMs, retryAfterMs: 0 };
}

export function refused(limit: number, remaining: number, resetMs: number, retryAfterMs: number): RateLimitDecision {
  // A refusal never says "retry now", even when float noise rounds the wait to 0.
  return { allowed: false, limit, remaining, resetMs, retryAfterMs: Math.max(1, retryAfterMs) };
}

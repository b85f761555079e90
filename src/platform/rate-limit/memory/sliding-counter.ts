import type { CheckedRule } from '../rules.js';
import { allowed, ceilMs, refused, type MemoryAlgorithm } from './algorithm.js';

interface SlidingCounterState {
  /** Index (floor(time / subWindowMs)) of the newest sub-window in the ring. */
  newest: number;
  /** counts[i mod (K + 1)]: units admitted in sub-window i, for i in newest − K … newest. */
  counts: number[];
  total: number;
}

/**
 * A sliding-window counter that never admits more than `limit` in any interval of length W
 * ("counter with bound"). The window is cut into K sub-windows of W / K; a request is judged
 * on the sum of the K + 1 sub-windows that overlap (now − W, now], counting the oldest one
 * whole although only part of it is still inside. That sum is an upper bound of the true
 * sliding count, so admitting only when it fits can never exceed the limit.
 *
 * The chapter's version weights the previous window by its overlap (prev × (1 − f) + cur);
 * it assumes the previous window's requests were spread evenly and admits up to 2 × limit
 * when they were not (a burst at the end of one window is "half forgotten" mid-next). The
 * bound costs admission instead: up to one sub-window's worth (limit-wise, W / K of time)
 * is refused early. K = 10 by default: 11 counters per key, within 10 % of the exact log.
 */
export function slidingCounter(rule: CheckedRule): MemoryAlgorithm<SlidingCounterState> {
  const { limit, windowMs, subWindows: k } = rule;
  const size = k + 1;
  const subMs = windowMs / k;
  /** Sub-window j stops counting when the window's start passes its end: at (j + K + 1) · subMs. */
  const leavesAt = (j: number) => (j + k + 1) * subMs;
  const slot = (j: number) => ((j % size) + size) % size;

  return {
    create: (now) => ({ newest: Math.floor(now / subMs), counts: new Array<number>(size).fill(0), total: 0 }),
    consume(state, now, cost) {
      const current = Math.max(Math.floor(now / subMs), state.newest);
      const { counts } = state;
      // Clear the sub-windows that left the window as time moved from `newest` to `current`.
      for (let j = state.newest + 1, end = Math.min(current, state.newest + size); j <= end; j++) {
        state.total -= counts[slot(j)] as number;
        counts[slot(j)] = 0;
      }
      state.newest = current;

      if (cost <= limit && state.total + cost <= limit) {
        counts[slot(current)] = (counts[slot(current)] as number) + cost;
        state.total += cost;
        return allowed(limit, limit - state.total, resetMs(state, now));
      }
      const reset = resetMs(state, now);
      if (cost > limit) return refused(limit, limit - state.total, reset, reset);
      let left = state.total;
      for (let j = current - k; j <= current; j++) {
        left -= counts[slot(j)] as number;
        if (left + cost <= limit) return refused(limit, limit - state.total, reset, ceilMs(leavesAt(j) - now));
      }
      return refused(limit, limit - state.total, reset, reset); // unreachable: left reaches 0 and cost ≤ limit
    },
  };

  function resetMs(state: SlidingCounterState, now: number): number {
    for (let j = state.newest; j >= state.newest - k; j--) {
      if ((state.counts[slot(j)] as number) > 0) return ceilMs(leavesAt(j) - now);
    }
    return 0;
  }
}

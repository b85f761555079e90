import type { CheckedRule } from '../rules.js';
import { allowed, ceilMs, refused, type MemoryAlgorithm } from './algorithm.js';

interface FixedWindowState {
  /** Index of the window the count belongs to: floor(time / windowMs). */
  window: number;
  count: number;
}

/**
 * A counter per calendar window [k·W, (k+1)·W), aligned to the epoch so every process and the
 * Redis script agree on the edges. The chapter's first algorithm, kept because it is the
 * cheapest; its flaw is real: `limit` at the end of one window and `limit` at the start of the
 * next are 2 × limit within a few milliseconds (defect 2 in DESIGN.md).
 */
export function fixedWindow(rule: CheckedRule): MemoryAlgorithm<FixedWindowState> {
  const { limit, windowMs } = rule;
  return {
    create: (now) => ({ window: Math.floor(now / windowMs), count: 0 }),
    consume(state, now, cost) {
      // max(): a clock that stepped back stays in the window it had reached.
      const window = Math.max(Math.floor(now / windowMs), state.window);
      if (window !== state.window) {
        state.window = window;
        state.count = 0;
      }
      const untilEnd = ceilMs((window + 1) * windowMs - now);
      if (cost <= limit && state.count + cost <= limit) {
        state.count += cost;
        return allowed(limit, limit - state.count, state.count > 0 ? untilEnd : 0);
      }
      const resetMs = state.count > 0 ? untilEnd : 0;
      return refused(limit, limit - state.count, resetMs, cost > limit ? resetMs : untilEnd);
    },
  };
}

import type { CheckedRule } from '../rules.js';
import { allowed, ceilMs, refused, type MemoryAlgorithm } from './algorithm.js';

interface SlidingLogState {
  /** Times of admitted units, ascending; at most `limit` of them. */
  times: number[];
}

/**
 * The exact sliding window: one timestamp per admitted unit, and a request is allowed iff
 * the units in (now − W, now] plus its cost fit the limit. Memory is up to `limit` numbers
 * per key, the price of exactness; the sliding counter trades a little admission for O(1).
 */
export function slidingLog(rule: CheckedRule): MemoryAlgorithm<SlidingLogState> {
  const { limit, windowMs } = rule;
  return {
    create: () => ({ times: [] }),
    consume(state, now, cost) {
      const { times } = state;
      let expired = 0;
      while (expired < times.length && (times[expired] as number) <= now - windowMs) expired++;
      if (expired > 0) times.splice(0, expired);

      if (cost <= limit && times.length + cost <= limit) {
        // A clock that stepped back records at the newest time, keeping the log sorted.
        const at = Math.max(now, times.at(-1) ?? now);
        for (let i = 0; i < cost; i++) times.push(at);
        return allowed(limit, limit - times.length, resetMs(times, now));
      }
      const reset = resetMs(times, now);
      if (cost > limit) return refused(limit, limit - times.length, reset, reset);
      // The request fits once the (n + cost − limit) oldest units have left the window.
      const oldestToGo = times[times.length + cost - limit - 1] as number;
      return refused(limit, limit - times.length, reset, ceilMs(oldestToGo + windowMs - now));
    },
  };

  function resetMs(times: number[], now: number): number {
    const newest = times.at(-1);
    return newest === undefined ? 0 : ceilMs(newest + windowMs - now);
  }
}

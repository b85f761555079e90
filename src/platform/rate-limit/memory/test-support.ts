import { FakeClock } from '../../clock.js';
import { MemoryRateLimiter } from '../memory-rate-limiter.js';
import type { RateLimitRule } from '../types.js';

/** Test helper: a limiter on a fake clock that starts on a whole second (a window edge). */
export function fakeLimiter(rule: RateLimitRule, maxKeys = 1000) {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const start = clock.now();
  return {
    clock,
    limiter: new MemoryRateLimiter(rule, { clock, maxKeys }),
    /** Moves the clock to `ms` after the start. */
    at: (ms: number) => clock.set(start + ms),
  };
}

/** How many of `n` requests of `cost` are allowed right now. */
export function burst(limiter: MemoryRateLimiter, key: string, n: number, cost = 1): number {
  let allowed = 0;
  for (let i = 0; i < n; i++) if (limiter.take(key, cost).allowed) allowed++;
  return allowed;
}

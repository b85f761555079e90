import type { Clock } from '../clock.js';

let cached = 0;
const forget = () => {
  cached = 0;
};

/**
 * The system clock read at most about once per millisecond: the first read caches Date.now()
 * and a 1 ms timer (unref'd) forgets it. lru-cache does the same for its own TTLs
 * (`ttlResolution`). It exists because reading the clock costs more than an LRU lookup on some
 * machines (≈ 47 ns for Date.now() against ≈ 34 ns for lru-cache's get on the benchmark VM), and
 * the L1 cache reads it on every hit.
 *
 * The value can lag real time by the length of the current event-loop turn (the timer fires
 * only between turns): fine for TTLs of seconds, wrong for measuring durations.
 */
export const coarseSystemClock: Clock = {
  now() {
    if (cached !== 0) return cached;
    cached = Date.now();
    setTimeout(forget, 1).unref();
    return cached;
  },
};

import { describe, expect, it } from 'vitest';
import { systemClock } from '../clock.js';
import { coarseSystemClock } from './coarse-clock.js';
import { LocalCache } from './local-cache.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('coarseSystemClock', () => {
  it('answers one cached reading within an event-loop turn, and a fresh one after its timer', async () => {
    const first = coarseSystemClock.now();
    const until = Date.now() + 3;
    while (Date.now() < until) {
      // a synchronous stretch of 3 ms: the reading does not move inside it
    }
    expect(coarseSystemClock.now()).toBe(first);
    await sleep(5);
    // Fresh after its timer: not older than a real reading taken just before (an upper bound
    // on the gap to Date.now() after it would measure the machine's scheduling, not the clock).
    const before = Date.now();
    const later = coarseSystemClock.now();
    expect(later).toBeGreaterThanOrEqual(first + 3);
    expect(later).toBeGreaterThanOrEqual(before);
  });

  it('is what LocalCache uses for the system clock, and entries still expire', async () => {
    const cache = new LocalCache<string>({ max: 10, clock: systemClock });
    cache.set('k', 'v', 20);
    expect(cache.get('k')).toBe('v');
    await sleep(30);
    expect(cache.get('k')).toBeUndefined();
  });
});

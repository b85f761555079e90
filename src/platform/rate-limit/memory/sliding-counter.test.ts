import { describe, expect, it } from 'vitest';
import { burst, fakeLimiter } from './test-support.js';

// 10 per second in 10 sub-windows of 100 ms.
const rule = { algorithm: 'sliding-counter', limit: 10, windowMs: 1000, subWindows: 10 } as const;

describe('sliding counter with bound (memory)', () => {
  it('a burst at the end of a window is not "half forgotten" mid-next (the chapter formula would admit 5 more)', () => {
    const { limiter, at } = fakeLimiter(rule);
    at(950);
    expect(burst(limiter, 'k', 10)).toBe(10);
    // Weighted estimate at 1500: 10 × (1 − 0.5) + 0 = 5 < 10, so it would admit 5 while all
    // 10 units of 950 are still inside (500, 1500]. The bound refuses.
    at(1500);
    expect(burst(limiter, 'k', 5)).toBe(0);
    at(1949);
    expect(burst(limiter, 'k', 1)).toBe(0);
  });

  it('the sub-window holding a unit counts whole until it leaves: refusal ends at its end + W', () => {
    const { limiter, at } = fakeLimiter(rule);
    at(950);
    burst(limiter, 'k', 10);
    at(1000);
    // Sub-window [900, 1000) stops counting at 2000: 50 ms later than the exact log would.
    expect(limiter.take('k')).toEqual({ allowed: false, limit: 10, remaining: 0, resetMs: 1000, retryAfterMs: 1000 });
    at(1999);
    expect(limiter.take('k')).toMatchObject({ allowed: false, retryAfterMs: 1 });
    at(2000);
    expect(burst(limiter, 'k', 11)).toBe(10);
  });

  it('the price of the bound: a steady rate of limit × K/(K+1) passes whole; at the limit, 1 in K+1 is refused', () => {
    const steady = (everyMs: number) => {
      const { limiter, at } = fakeLimiter(rule);
      let allowed = 0;
      for (let t = 0; t < 5500; t += everyMs) {
        at(t);
        if (limiter.take('k').allowed) allowed++;
      }
      return allowed;
    };
    expect(steady(110)).toBe(50); // 50 of 50: 11 sub-windows (1.1 s) never hold more than 10
    // One per 100 ms: 11 counted sub-windows hold 11 requests, so after 10 admitted the 11th
    // is refused, then the pattern repeats: 10 of every 11 (50 of 55 here).
    expect(steady(100)).toBe(50);
  });

  it('cost > 1 waits until enough old sub-windows have left', () => {
    const { limiter, at } = fakeLimiter(rule);
    at(0);
    limiter.take('k', 4);
    at(300);
    limiter.take('k', 4);
    at(500);
    expect(limiter.take('k', 4)).toMatchObject({ allowed: false, remaining: 2, retryAfterMs: 600 }); // [0,100) leaves at 1100
    expect(limiter.take('k', 2)).toMatchObject({ allowed: true, remaining: 0, resetMs: 1100 });
    at(1100);
    expect(limiter.take('k', 4)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('a cost above the limit is refused with retryAfter = time to a full allowance', () => {
    const { limiter, at } = fakeLimiter(rule);
    at(250);
    limiter.take('k');
    expect(limiter.take('k', 11)).toEqual({ allowed: false, limit: 10, remaining: 9, resetMs: 1050, retryAfterMs: 1050 });
  });

  it('counters of sub-windows left long ago are cleared (a key idle for many windows starts empty)', () => {
    const { limiter, at } = fakeLimiter(rule);
    at(0);
    burst(limiter, 'k', 10);
    at(60_000);
    expect(burst(limiter, 'k', 12)).toBe(10);
  });

  it('a clock stepping back forgets nothing early', () => {
    const { limiter, at } = fakeLimiter(rule);
    at(5000);
    expect(burst(limiter, 'k', 10)).toBe(10);
    at(3000);
    expect(limiter.take('k')).toMatchObject({ allowed: false, retryAfterMs: 3100 });
  });
});

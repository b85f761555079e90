import { describe, expect, it } from 'vitest';
import { burst, fakeLimiter } from './test-support.js';

const rule = { algorithm: 'fixed-window', limit: 5, windowMs: 1000 } as const;

describe('fixed window (memory)', () => {
  it('admits the limit per calendar window; the next request waits for the window to end', () => {
    const { limiter, at } = fakeLimiter(rule);
    at(200);
    expect(burst(limiter, 'k', 7)).toBe(5);
    expect(limiter.take('k')).toEqual({ allowed: false, limit: 5, remaining: 0, resetMs: 800, retryAfterMs: 800 });
    at(999);
    expect(limiter.take('k')).toMatchObject({ allowed: false, retryAfterMs: 1 });
    at(1000);
    expect(limiter.take('k')).toEqual({ allowed: true, limit: 5, remaining: 4, resetMs: 1000, retryAfterMs: 0 });
  });

  it('admits 2 × limit across a window edge (the flaw the sliding algorithms fix)', () => {
    const { limiter, at } = fakeLimiter(rule);
    at(999);
    const before = burst(limiter, 'k', 5);
    at(1000);
    const after = burst(limiter, 'k', 5);
    expect(before + after).toBe(10); // 10 in 2 ms with a limit of 5 per second
  });

  it('cost > 1 takes that many; a refused cost takes nothing', () => {
    const { limiter, at } = fakeLimiter(rule);
    expect(limiter.take('k', 3)).toMatchObject({ allowed: true, remaining: 2 });
    expect(limiter.take('k', 3)).toMatchObject({ allowed: false, remaining: 2, retryAfterMs: 1000 });
    expect(limiter.take('k', 2)).toMatchObject({ allowed: true, remaining: 0 });
    at(1000);
    expect(limiter.take('k', 5)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('a cost above the limit is refused with retryAfter = time to a full allowance (at least 1 ms)', () => {
    const { limiter, at } = fakeLimiter(rule);
    at(250);
    expect(limiter.take('fresh', 6)).toEqual({ allowed: false, limit: 5, remaining: 5, resetMs: 0, retryAfterMs: 1 });
    limiter.take('k');
    expect(limiter.take('k', 6)).toEqual({ allowed: false, limit: 5, remaining: 4, resetMs: 750, retryAfterMs: 750 });
  });

  it('a clock stepping back stays in the window it reached (no second allowance)', () => {
    const { limiter, at } = fakeLimiter(rule);
    at(1500);
    expect(burst(limiter, 'k', 5)).toBe(5);
    at(900);
    expect(limiter.take('k')).toMatchObject({ allowed: false, retryAfterMs: 1100 });
  });
});

import { describe, expect, it } from 'vitest';
import { burst, fakeLimiter } from './test-support.js';

const rule = { algorithm: 'sliding-log', limit: 3, windowMs: 1000 } as const;

describe('sliding log (memory)', () => {
  it('a unit counts for exactly W: retryAfter is when the oldest leaves', () => {
    const { limiter, at } = fakeLimiter(rule);
    at(0);
    limiter.take('k');
    at(100);
    limiter.take('k');
    at(200);
    expect(limiter.take('k')).toEqual({ allowed: true, limit: 3, remaining: 0, resetMs: 1000, retryAfterMs: 0 });
    at(300);
    expect(limiter.take('k')).toEqual({ allowed: false, limit: 3, remaining: 0, resetMs: 900, retryAfterMs: 700 });
    at(999);
    expect(limiter.take('k')).toMatchObject({ allowed: false, retryAfterMs: 1 });
    at(1000);
    expect(limiter.take('k')).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('no 2 × burst across a window edge', () => {
    const { limiter, at } = fakeLimiter(rule);
    at(999);
    expect(burst(limiter, 'k', 3)).toBe(3);
    at(1000);
    expect(burst(limiter, 'k', 3)).toBe(0);
    at(1998);
    expect(burst(limiter, 'k', 3)).toBe(0);
    at(1999);
    expect(burst(limiter, 'k', 4)).toBe(3);
  });

  it('cost > 1 waits for as many units to leave as it needs', () => {
    const { limiter, at } = fakeLimiter(rule);
    at(100);
    limiter.take('k');
    at(200);
    limiter.take('k');
    at(1000);
    expect(limiter.take('k', 2)).toMatchObject({ allowed: false, remaining: 1, retryAfterMs: 100 });
    at(1100);
    expect(limiter.take('k', 2)).toMatchObject({ allowed: true, remaining: 0, resetMs: 1000 });
  });

  it('a cost above the limit is refused with retryAfter = time to a full allowance', () => {
    const { limiter, at } = fakeLimiter(rule);
    at(0);
    limiter.take('k');
    at(400);
    expect(limiter.take('k', 4)).toEqual({ allowed: false, limit: 3, remaining: 2, resetMs: 600, retryAfterMs: 600 });
  });

  it('a clock stepping back forgets nothing early', () => {
    const { limiter, at } = fakeLimiter(rule);
    at(5000);
    expect(burst(limiter, 'k', 3)).toBe(3);
    at(4000);
    expect(limiter.take('k')).toMatchObject({ allowed: false, retryAfterMs: 2000 });
    at(6000);
    expect(limiter.take('k')).toMatchObject({ allowed: true });
  });
});

import { describe, expect, it } from 'vitest';
import { ruleFromRate } from '../rules.js';
import { burst, fakeLimiter } from './test-support.js';

const bucket = (capacity: number, perSecond: number) => fakeLimiter(ruleFromRate('token-bucket', capacity, perSecond));

describe('token bucket (memory)', () => {
  it('the chapter example: 100 at once, the 101st waits 100 ms, 10 more after 1 s', () => {
    const { limiter, at } = bucket(100, 10);
    expect(burst(limiter, 'ip', 100)).toBe(100);
    expect(limiter.take('ip')).toEqual({ allowed: false, limit: 100, remaining: 0, retryAfterMs: 100, resetMs: 10_000 });
    at(1000);
    expect(burst(limiter, 'ip', 11)).toBe(10);
  });

  it('reports remaining and resetMs after each allowed request', () => {
    const { limiter } = bucket(5, 1);
    expect(limiter.take('k')).toEqual({ allowed: true, limit: 5, remaining: 4, retryAfterMs: 0, resetMs: 1000 });
    expect(limiter.take('k', 3)).toMatchObject({ allowed: true, remaining: 1, resetMs: 4000 });
  });

  it('retryAfterMs is exact: one ms earlier is refused, at it allowed', () => {
    const { limiter, at } = bucket(3, 3); // one token per 333.33 ms
    expect(burst(limiter, 'k', 3)).toBe(3);
    expect(limiter.take('k').retryAfterMs).toBe(334);
    at(333);
    expect(limiter.take('k').allowed).toBe(false);
    at(334);
    expect(limiter.take('k').allowed).toBe(true);
  });

  it('retryAfterMs accounts for the cost and for partial refill', () => {
    const { limiter, at } = bucket(10, 2); // 500 ms per token
    limiter.take('k', 10);
    at(250);
    expect(limiter.take('k', 2)).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 750 });
    at(999);
    expect(limiter.take('k', 2).allowed).toBe(false);
    at(1000);
    expect(limiter.take('k', 2)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('a refused request takes no tokens', () => {
    const { limiter, at } = bucket(2, 1);
    limiter.take('k', 2);
    for (let i = 0; i < 5; i++) limiter.take('k');
    at(1000);
    expect(limiter.take('k').allowed).toBe(true);
  });

  it('refills continuously and never above capacity', () => {
    const { limiter, at } = bucket(10, 10);
    limiter.take('k', 10);
    at(350);
    expect(burst(limiter, 'k', 10)).toBe(3);
    at(60_350);
    expect(burst(limiter, 'k', 20)).toBe(10);
  });

  it('a cost above capacity is refused with a finite retry: the time to fill', () => {
    const { limiter, at } = bucket(10, 5);
    limiter.take('k', 4);
    expect(limiter.take('k', 11)).toMatchObject({ allowed: false, remaining: 6, retryAfterMs: 800, resetMs: 800 });
    at(10_000);
    expect(limiter.take('k', 11)).toMatchObject({ allowed: false, remaining: 10, resetMs: 0, retryAfterMs: 1 });
  });

  it('a clock stepping back neither refills nor breaks the bucket', () => {
    const { limiter, at } = bucket(1, 1);
    at(5000);
    limiter.take('k');
    at(0);
    expect(limiter.take('k').allowed).toBe(false);
    at(6000);
    expect(limiter.take('k').allowed).toBe(true);
  });
});

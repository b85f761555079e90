import { describe, expect, it } from 'vitest';
import { ruleFromRate } from '../rules.js';
import { burst, fakeLimiter } from './test-support.js';

const gcra = (burstSize: number, perSecond: number) => fakeLimiter(ruleFromRate('gcra', burstSize, perSecond));

describe('GCRA (memory)', () => {
  it('a burst of the limit, then one per emission interval', () => {
    const { limiter, at } = gcra(100, 10);
    expect(burst(limiter, 'k', 100)).toBe(100);
    expect(limiter.take('k')).toEqual({ allowed: false, limit: 100, remaining: 0, resetMs: 10_000, retryAfterMs: 100 });
    at(1000);
    expect(burst(limiter, 'k', 11)).toBe(10);
  });

  it('retryAfterMs is exact for a fractional interval', () => {
    const { limiter, at } = gcra(3, 3); // T = 333.33 ms
    expect(burst(limiter, 'k', 3)).toBe(3);
    expect(limiter.take('k').retryAfterMs).toBe(334);
    at(333);
    expect(limiter.take('k').allowed).toBe(false);
    at(334);
    expect(limiter.take('k')).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('remaining and resetMs follow the theoretical arrival time', () => {
    const { limiter, at } = gcra(5, 1);
    expect(limiter.take('k')).toEqual({ allowed: true, limit: 5, remaining: 4, resetMs: 1000, retryAfterMs: 0 });
    expect(limiter.take('k', 3)).toMatchObject({ allowed: true, remaining: 1, resetMs: 4000 });
    at(2500);
    expect(limiter.take('k', 0)).toMatchObject({ allowed: true, remaining: 3, resetMs: 1500 });
  });

  it('cost > 1 waits for cost intervals; a refused cost takes nothing', () => {
    const { limiter, at } = gcra(10, 2); // T = 500 ms
    limiter.take('k', 10);
    at(250);
    expect(limiter.take('k', 2)).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 750 });
    at(999);
    expect(limiter.take('k', 2).allowed).toBe(false);
    at(1000);
    expect(limiter.take('k', 2)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('a cost above the limit is refused with retryAfter = time to a full allowance', () => {
    const { limiter } = gcra(10, 5);
    limiter.take('k', 4);
    expect(limiter.take('k', 11)).toMatchObject({ allowed: false, remaining: 6, resetMs: 800, retryAfterMs: 800 });
    expect(limiter.take('fresh', 11)).toMatchObject({ allowed: false, remaining: 10, resetMs: 0, retryAfterMs: 1 });
  });

  it('idle time never banks more than the burst', () => {
    const { limiter, at } = gcra(10, 10);
    at(3_600_000);
    expect(burst(limiter, 'k', 20)).toBe(10);
  });

  it('a clock stepping back does not refill', () => {
    const { limiter, at } = gcra(1, 1);
    at(5000);
    limiter.take('k');
    at(0);
    expect(limiter.take('k')).toMatchObject({ allowed: false, retryAfterMs: 6000 }); // the TAT 6000 still stands
  });
});

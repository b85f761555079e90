import { describe, expect, it } from 'vitest';
import { jitteredTtl } from './ttl-jitter.js';

describe('jitteredTtl', () => {
  it('maps random 0 and ~1 to the ends of the interval', () => {
    expect(jitteredTtl(1000, 0.1, () => 0)).toBe(900);
    expect(jitteredTtl(1000, 0.1, () => 0.999_999_9)).toBe(1100);
    expect(jitteredTtl(1000, 0.1, () => 0.5)).toBe(1000);
    expect(jitteredTtl(1000, 0.1, () => 0.25)).toBe(950);
  });

  it('stays inside [base(1-s), base(1+s)] and spreads over it', () => {
    let min = Infinity;
    let max = -Infinity;
    const seen = new Set<number>();
    for (let i = 0; i < 20_000; i++) {
      const ttl = jitteredTtl(60_000, 0.2);
      expect(Number.isInteger(ttl)).toBe(true);
      min = Math.min(min, ttl);
      max = Math.max(max, ttl);
      seen.add(Math.floor((ttl - 48_000) / 2400)); // 10 buckets
    }
    expect(min).toBeGreaterThanOrEqual(48_000);
    expect(max).toBeLessThanOrEqual(72_000);
    expect(min).toBeLessThan(49_000);
    expect(max).toBeGreaterThan(71_000);
    expect(seen.size).toBeGreaterThanOrEqual(10);
  });

  it('rounding never leaves a non-integer interval', () => {
    // [99.5, 100.5] → only 100 is a whole number inside.
    expect(jitteredTtl(100, 0.005, () => 0)).toBe(100);
    expect(jitteredTtl(100, 0.005, () => 0.999)).toBe(100);
  });

  it('is never below 1', () => {
    expect(jitteredTtl(0, 0.5, () => 0.3)).toBe(1);
    expect(jitteredTtl(10, 1, () => 0)).toBe(1);
  });

  it('spread 0 returns the base', () => {
    expect(jitteredTtl(5000, 0, () => 0.9)).toBe(5000);
  });

  it('rejects bad arguments', () => {
    expect(() => jitteredTtl(-1, 0.1)).toThrow(RangeError);
    expect(() => jitteredTtl(Infinity, 0.1)).toThrow(RangeError);
    expect(() => jitteredTtl(100, 1.5)).toThrow(RangeError);
    expect(() => jitteredTtl(100, -0.1)).toThrow(RangeError);
    expect(() => jitteredTtl(100, Number.NaN)).toThrow(RangeError);
  });
});

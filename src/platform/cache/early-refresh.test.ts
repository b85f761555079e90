import { describe, expect, it } from 'vitest';
import { FakeClock } from '../clock.js';
import { shouldRefreshEarly, uniformOpenZero } from './early-refresh.js';

describe('shouldRefreshEarly (XFetch)', () => {
  const delta = 100; // the last recompute took 100 ms
  const beta = 1;

  it('refreshes when now − delta·beta·ln(rand) reaches the expiry, with a fixed rand', () => {
    const clock = new FakeClock(0);
    const expiresAt = 10_000;
    // rand = e^-1: the gap is exactly delta·beta = 100 ms.
    const fixed = () => Math.exp(-1);
    clock.set(expiresAt - 101);
    expect(shouldRefreshEarly(clock.now(), expiresAt, delta, beta, fixed)).toBe(false);
    clock.advance(1);
    expect(shouldRefreshEarly(clock.now(), expiresAt, delta, beta, fixed)).toBe(true);
    // rand = e^-3: a 300 ms head start.
    clock.set(expiresAt - 300);
    expect(shouldRefreshEarly(clock.now(), expiresAt, delta, beta, () => Math.exp(-3))).toBe(true);
    clock.set(expiresAt - 301);
    expect(shouldRefreshEarly(clock.now(), expiresAt, delta, beta, () => Math.exp(-3))).toBe(false);
  });

  it('starts earlier for slower recomputes and larger beta', () => {
    const fixed = () => 0.5; // −ln 0.5 ≈ 0.693
    const expiresAt = 10_000;
    const now = expiresAt - 500;
    expect(shouldRefreshEarly(now, expiresAt, 100, 1, fixed)).toBe(false); // gap 69 ms
    expect(shouldRefreshEarly(now, expiresAt, 1000, 1, fixed)).toBe(true); // gap 693 ms
    expect(shouldRefreshEarly(now, expiresAt, 100, 10, fixed)).toBe(true); // gap 693 ms
  });

  it('always refreshes an expired entry, and never early with beta 0 or no delta', () => {
    expect(shouldRefreshEarly(10_000, 10_000, 100, 1, () => 1)).toBe(true);
    expect(shouldRefreshEarly(9_999, 10_000, 100, 0, () => 1e-12)).toBe(false);
    expect(shouldRefreshEarly(9_999, 10_000, 0, 1, () => 1e-12)).toBe(false);
  });

  it('treats rand = 0 as the smallest positive double (ln ≈ −744), not as ln 0 = −∞', () => {
    expect(shouldRefreshEarly(0, 744, 1, 1, () => 0)).toBe(true);
    expect(shouldRefreshEarly(0, 746, 1, 1, () => 0)).toBe(false);
  });

  it('refreshes with probability exp(−(expiry − now)/(delta·beta))', () => {
    const trials = 20_000;
    let hits = 0;
    for (let i = 0; i < trials; i++) if (shouldRefreshEarly(9_900, 10_000, 100, 1)) hits++;
    // exp(−1) ≈ 0.368; 20k trials give a standard error of ~0.0034.
    expect(hits / trials).toBeGreaterThan(0.35);
    expect(hits / trials).toBeLessThan(0.385);
  });

  it('draws rand from (0, 1]', () => {
    for (let i = 0; i < 1000; i++) {
      const r = uniformOpenZero();
      expect(r > 0 && r <= 1).toBe(true);
    }
  });
});

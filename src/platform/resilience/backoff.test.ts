import { describe, expect, it } from 'vitest';
import { exponentialBackoff, type Backoff, type Jitter } from './backoff.js';

function schedule(backoff: Backoff, retries: number): number[] {
  const out: number[] = [];
  let previous = 0;
  for (let n = 1; n <= retries; n++) {
    previous = backoff.delay(n, previous);
    out.push(previous);
  }
  return out;
}

const half = () => 0.5;

describe('exponentialBackoff', () => {
  it.each<[Jitter, number[]]>([
    ['none', [100, 200, 400, 800, 1000, 1000]],
    ['full', [50, 100, 200, 400, 500, 500]],
    ['equal', [75, 150, 300, 600, 750, 750]],
    // U(base, 3 × previous): 100 + 0.5 × (300 − 100) = 200, then 100 + 0.5 × (600 − 100) = 350, …
    ['decorrelated', [200, 350, 575, 913, 1000, 1000]],
  ])('%s jitter with random = 0.5 gives an exact schedule (base 100, cap 1000)', (jitter, expected) => {
    expect(schedule(exponentialBackoff({ jitter, baseMs: 100, capMs: 1000, random: half }), 6)).toEqual(expected);
  });

  it.each<Jitter>(['full', 'equal', 'decorrelated', 'none'])('%s: the cap holds after jitter, even at random → 1', (jitter) => {
    const backoff = exponentialBackoff({ jitter, baseMs: 100, capMs: 1000, random: () => 0.999999 });
    const delays = schedule(backoff, 40);
    // The chapter's min(base·2^n, cap) × (0.5 + random) would reach 1.5 × cap here.
    expect(Math.max(...delays)).toBe(1000);
  });

  it('full jitter stays uniform over [0, cap] once the ceiling reaches the cap', () => {
    const randoms = [0, 0.25, 0.5, 0.75];
    let i = 0;
    const backoff = exponentialBackoff({ jitter: 'full', baseMs: 100, capMs: 1000, random: () => randoms[i++ % 4] as number });
    expect([20, 21, 22, 23].map((n) => backoff.delay(n, 0))).toEqual([0, 250, 500, 750]);
  });

  it('equal jitter is never below half the ceiling', () => {
    const backoff = exponentialBackoff({ jitter: 'equal', baseMs: 100, capMs: 1000, random: () => 0 });
    expect(schedule(backoff, 5)).toEqual([50, 100, 200, 400, 500]);
  });

  it('decorrelated jitter never goes below the base', () => {
    const backoff = exponentialBackoff({ jitter: 'decorrelated', baseMs: 100, capMs: 1000, random: () => 0 });
    expect(schedule(backoff, 4)).toEqual([100, 100, 100, 100]);
  });

  it('huge retry numbers stay finite and capped', () => {
    const backoff = exponentialBackoff({ jitter: 'none', baseMs: 100, capMs: 30_000 });
    expect(backoff.delay(5000, 0)).toBe(30_000);
  });

  it('with the default random source every delay is a whole number of ms within [0, cap]', () => {
    const backoff = exponentialBackoff({ jitter: 'full', baseMs: 10, capMs: 500 });
    const delays = schedule(backoff, 200);
    expect(delays.every((d) => Number.isInteger(d) && d >= 0 && d <= 500)).toBe(true);
    expect(new Set(delays).size).toBeGreaterThan(20); // actually random
  });

  it.each([
    [{ baseMs: 0 }, /baseMs/],
    [{ baseMs: -1 }, /baseMs/],
    [{ baseMs: 100, capMs: 50 }, /capMs/],
    [{ capMs: Infinity }, /capMs/],
    [{ factor: 0.5 }, /factor/],
  ])('rejects %j', (options, message) => {
    expect(() => exponentialBackoff(options)).toThrow(message);
  });
});

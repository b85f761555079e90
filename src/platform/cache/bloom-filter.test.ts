import { describe, expect, it } from 'vitest';
import { BloomFilter, bloomSize } from './bloom-filter.js';

describe('bloomSize', () => {
  it('follows m = −n ln p / (ln 2)² and k = (m/n) ln 2', () => {
    expect(bloomSize(1_000_000, 0.01)).toEqual({ bits: 9_585_059, hashes: 7 });
    expect(bloomSize(1000, 0.001)).toEqual({ bits: 14_378, hashes: 10 });
    expect(bloomSize(100, 0.5).hashes).toBe(1);
  });

  it('needs 1.2 MB for a million keys at 1%', () => {
    const filter = new BloomFilter(1_000_000, 0.01);
    expect(filter.byteLength).toBe(Math.ceil(9_585_059 / 32) * 4);
    expect(filter.byteLength).toBeLessThan(1.2e6);
  });

  it('refuses nonsense sizes', () => {
    expect(() => new BloomFilter(0, 0.01)).toThrow(RangeError);
    expect(() => new BloomFilter(10, 0)).toThrow(RangeError);
    expect(() => new BloomFilter(10, 1)).toThrow(RangeError);
  });
});

describe('BloomFilter', () => {
  const n = 100_000;
  const target = 0.01;
  const filter = new BloomFilter(n, target);
  // Keys shaped like tny's: base62-ish short strings with a shared prefix.
  for (let i = 0; i < n; i++) filter.add(`k${i.toString(36)}`);

  it('never forgets a key it was given (no false negatives)', () => {
    let missing = 0;
    for (let i = 0; i < n; i++) if (!filter.mightContain(`k${i.toString(36)}`)) missing++;
    expect(missing).toBe(0);
  });

  it('has a measured false-positive rate within 30% of the target on 100k items', () => {
    let positives = 0;
    const trials = 100_000;
    for (let i = 0; i < trials; i++) if (filter.mightContain(`x${i.toString(36)}`)) positives++;
    const rate = positives / trials;
    console.log(`[bloom] n=${n} p=${target}: measured false-positive rate ${(rate * 100).toFixed(3)}% (${positives}/${trials})`);
    expect(rate).toBeGreaterThan(target * 0.7);
    expect(rate).toBeLessThan(target * 1.3);
  });

  it('estimates how many items it holds and its current false-positive rate', () => {
    expect(filter.estimatedItems).toBeGreaterThan(n * 0.97);
    expect(filter.estimatedItems).toBeLessThan(n * 1.03);
    expect(filter.estimatedFalsePositiveRate).toBeGreaterThan(target * 0.8);
    expect(filter.estimatedFalsePositiveRate).toBeLessThan(target * 1.2);
  });

  it('does not count a key added twice', () => {
    const small = new BloomFilter(1000, 0.01);
    for (let i = 0; i < 500; i++) small.add(`a${i}`);
    const once = small.estimatedItems;
    expect(small.overCapacity).toBe(false);
    for (let i = 0; i < 500; i++) small.add(`a${i}`);
    expect(small.estimatedItems).toBe(once);
  });

  it('degrades when overfilled, which the estimate shows', () => {
    const small = new BloomFilter(1000, 0.01);
    for (let i = 0; i < 5000; i++) small.add(`o${i}`);
    expect(small.estimatedFalsePositiveRate).toBeGreaterThan(0.3);
    expect(small.overCapacity).toBe(true);
    expect(small.mightContain('o4999')).toBe(true);
  });
});

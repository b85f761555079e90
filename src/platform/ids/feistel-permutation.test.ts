import { describe, expect, it } from 'vitest';
import { FeistelPermutation } from './feistel-permutation.js';

const KEY_SPACE = 62 ** 7;

/** A small deterministic PRNG, so a failure can be reproduced. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('FeistelPermutation', () => {
  const perm = new FeistelPermutation(KEY_SPACE, 'test-secret');

  it('over 62^7: decrypt(encrypt(x)) === x and outputs stay in range, for 20k random x', () => {
    const random = mulberry32(1);
    for (let i = 0; i < 20_000; i++) {
      const x = Math.floor(random() * KEY_SPACE);
      const y = perm.encrypt(x);
      expect(Number.isSafeInteger(y) && y >= 0 && y < KEY_SPACE).toBe(true);
      if (perm.decrypt(y) !== x) expect.fail(`decrypt(encrypt(${x})) !== ${x}`);
    }
    for (const x of [0, 1, KEY_SPACE - 1]) expect(perm.decrypt(perm.encrypt(x))).toBe(x);
  });

  it('over a small domain (1000) is a bijection: every output distinct, all covered', () => {
    const small = new FeistelPermutation(1000, 'test-secret');
    const outputs = new Set<number>();
    for (let x = 0; x < 1000; x++) {
      const y = small.encrypt(x);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(y).toBeLessThan(1000);
      expect(small.decrypt(y)).toBe(x);
      outputs.add(y);
    }
    expect(outputs.size).toBe(1000);
  });

  it.each([2, 3, 7, 64, 1023, 1025])('is a bijection over the odd-sized domain %i', (domain) => {
    const p = new FeistelPermutation(domain, 'k');
    const outputs = new Set(Array.from({ length: domain }, (_, x) => p.encrypt(x)));
    expect(outputs.size).toBe(domain);
    expect(Math.max(...outputs)).toBe(domain - 1);
  });

  it('stays a bijection at the top of a domain just above a power of two', () => {
    // Math.log2(2 ** 50 + 1) rounds to 50: a domain sized from it lost its top value.
    const domain = 2 ** 50 + 1;
    const p = new FeistelPermutation(domain, 'k');
    for (let x = domain - 200; x < domain; x++) {
      const y = p.encrypt(x);
      expect(y).toBeLessThan(domain);
      expect(p.decrypt(y)).toBe(x);
    }
  });

  it('maps consecutive inputs to non-sequential outputs', () => {
    const start = 123_456;
    let close = 0;
    let previous = perm.encrypt(start);
    for (let x = start + 1; x <= start + 10_000; x++) {
      const y = perm.encrypt(x);
      if (Math.abs(y - previous) < KEY_SPACE / 1000) close++;
      previous = y;
    }
    expect(close).toBeLessThan(100);
  });

  it('is not the identity and different secrets give different permutations', () => {
    const other = new FeistelPermutation(KEY_SPACE, 'another-secret');
    let same = 0;
    let fixed = 0;
    for (let x = 0; x < 1000; x++) {
      if (perm.encrypt(x) === other.encrypt(x)) same++;
      if (perm.encrypt(x) === x) fixed++;
    }
    expect(same).toBeLessThan(5);
    expect(fixed).toBeLessThan(5);
  });

  it('is deterministic for one secret (keys survive restarts)', () => {
    const again = new FeistelPermutation(KEY_SPACE, Buffer.from('test-secret'));
    for (let x = 0; x < 100; x++) expect(again.encrypt(x)).toBe(perm.encrypt(x));
  });

  it('rejects inputs outside the domain and unusable domains', () => {
    for (const bad of [-1, KEY_SPACE, 1.5, Number.NaN]) {
      expect(() => perm.encrypt(bad)).toThrow(RangeError);
      expect(() => perm.decrypt(bad)).toThrow(RangeError);
    }
    expect(() => new FeistelPermutation(1, 'k')).toThrow(RangeError);
    expect(() => new FeistelPermutation(Number.MAX_SAFE_INTEGER, 'k')).toThrow(RangeError);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countBy, fixedKeys } from '../../../test/platform/hashing-fixtures.js';
import { jumpHash, jumpHashString } from './jump-hash.js';

/** The paper's C++ transcribed with BigInt: slow, obviously right, the oracle for the fast one. */
function referenceJump(key: bigint, buckets: number): number {
  let k = key;
  let b = -1n;
  let j = 0n;
  while (j < BigInt(buckets)) {
    b = j;
    k = BigInt.asUintN(64, k * 2862933555777941757n + 1n);
    j = BigInt(Math.trunc(Number(b + 1n) * (2147483648 / Number((k >> 33n) + 1n))));
  }
  return Number(b);
}

const keys = fixedKeys();

describe('jumpHash', () => {
  // dgryski/go-jump's table, "generated from the reference C++ code": bucket for 1..N buckets.
  it.each([
    [0n, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
    [1n, [0, 0, 0, 0, 0, 0, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 17, 17]],
    [0xdeadbeefn, [0, 1, 2, 3, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 16, 16, 16]],
    [0x0ddc0ffeebadf00dn, [0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 15, 15, 15, 15]],
  ])('matches the reference for key %s', (key, expected) => {
    expect(expected.map((_, i) => jumpHash(key, i + 1))).toEqual(expected);
  });

  // ClickHouse's jumpConsistentHash test (tests/queries/0_stateless/00580_…): raw 64-bit keys.
  it.each([
    [1n, 1, 0],
    [42n, 57, 43],
    [256n, 1024, 520],
    [3735883980n, 1, 0],
    [3735883980n, 666, 361],
    [16045690984833335023n, 255, 237],
  ])('jumpHash(%s, %d) is %d', (key, buckets, expected) => {
    expect(jumpHash(key, buckets)).toBe(expected);
    if (key <= BigInt(Number.MAX_SAFE_INTEGER)) expect(jumpHash(Number(key), buckets)).toBe(expected);
  });

  it('agrees with a BigInt transcription of the paper for any 64-bit key and bucket count', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.integer({ min: 1, max: 0x7fffffff }), (key, buckets) => {
        expect(jumpHash(key, buckets)).toBe(referenceJump(key, buckets));
      }),
      { numRuns: 3000 },
    );
  });

  it('is deterministic and the same for a number and the equal bigint', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.integer({ min: 1, max: 100_000 }), (key, buckets) => {
        const first = jumpHash(key, buckets);
        expect(jumpHash(key, buckets)).toBe(first);
        expect(jumpHash(BigInt(key), buckets)).toBe(first);
        expect(first).toBeGreaterThanOrEqual(0);
        expect(first).toBeLessThan(buckets);
      }),
    );
  });

  it.each([3, 5, 10, 100])(
    'growing from %d buckets moves 1/(N+1) of the keys ±10%, all of them into the new bucket',
    (n) => {
      let moved = 0;
      for (const key of keys) {
        const before = jumpHashString(key, n);
        const after = jumpHashString(key, n + 1);
        if (before !== after) {
          moved++;
          expect(after).toBe(n);
        }
      }
      const expected = keys.length / (n + 1);
      expect(Math.abs(moved - expected) / expected).toBeLessThanOrEqual(0.1);
    },
  );

  it('splits 100,000 keys over 10 buckets within ±5% of the mean (measured max/mean 1.018)', () => {
    const counts = countBy(keys.map((k) => jumpHashString(k, 10)));
    expect(counts.size).toBe(10);
    for (const count of counts.values()) expect(Math.abs(count / 10_000 - 1)).toBeLessThanOrEqual(0.05);
  });

  it.each([
    [1, 0],
    [1, 1.5],
    [1, -1],
    [1, 2 ** 31],
    [1, Number.NaN],
    [-1, 10],
    [1.5, 10],
    [2 ** 53, 10],
    [-1n, 10],
    [1n << 64n, 10],
  ])('rejects key %s with %s buckets', (key, buckets) => {
    expect(() => jumpHash(key, buckets)).toThrow(RangeError);
  });

  it('rejects a bad bucket count for string keys too', () => {
    expect(() => jumpHashString('k', 0)).toThrow(RangeError);
    expect(jumpHashString('k', 1)).toBe(0);
  });
});

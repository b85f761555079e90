import { describe, expect, it } from 'vitest';
import { FeistelPermutation } from '../../platform/ids/feistel-permutation.js';
import type { IdSequence } from '../ports.js';
import { CounterKeys } from './counter-keys.js';
import { HashKeys } from './hash-keys.js';
import { KEY_SPACE } from './key-generator.js';
import { RandomKeys } from './random-keys.js';

class MemorySequence implements IdSequence {
  next = 1;
  leases = 0;
  async lease(_name: string, size: number) {
    this.leases++;
    await new Promise((r) => setTimeout(r, 5));
    const start = this.next;
    this.next += size;
    return { start, end: start + size };
  }
}

describe('CounterKeys', () => {
  const permutation = new FeistelPermutation(KEY_SPACE, 'test-secret');

  it('gives distinct 7-character keys, leasing one block per blockSize keys', async () => {
    const seq = new MemorySequence();
    const keys = new CounterKeys(seq, permutation, 100);
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) seen.add(await keys.candidate());
    expect(seen.size).toBe(1000);
    for (const k of seen) expect(k).toMatch(/^[0-9A-Za-z]{7}$/);
    expect(seq.leases).toBe(10);
  });

  it('shares one lease among concurrent callers', async () => {
    const seq = new MemorySequence();
    const keys = new CounterKeys(seq, permutation, 50);
    const got = await Promise.all(Array.from({ length: 50 }, () => keys.candidate()));
    expect(new Set(got).size).toBe(50);
    expect(seq.leases).toBe(1);
  });

  it('does not look sequential', async () => {
    const keys = new CounterKeys(new MemorySequence(), permutation, 1000);
    const a = await keys.candidate();
    const b = await keys.candidate();
    let shared = 0;
    while (shared < 7 && a[shared] === b[shared]) shared++;
    expect(shared).toBeLessThan(5);
  });
});

describe('HashKeys', () => {
  const h = new HashKeys();
  it('is deterministic per (account, URL, attempt) and differs otherwise', () => {
    const k = h.candidate('https://e.com/', 1, 0);
    expect(k).toMatch(/^[0-9A-Za-z]{7}$/);
    expect(h.candidate('https://e.com/', 1, 0)).toBe(k);
    expect(h.candidate('https://e.com/', 2, 0)).not.toBe(k);
    expect(h.candidate('https://e.com/', 1, 1)).not.toBe(k);
  });
});

describe('RandomKeys', () => {
  it('draws 7-character keys that do not repeat in practice', () => {
    const r = new RandomKeys();
    const seen = new Set(Array.from({ length: 10_000 }, () => r.candidate()));
    expect(seen.size).toBe(10_000);
    for (const k of seen) expect(k).toMatch(/^[0-9A-Za-z]{7}$/);
  });
});

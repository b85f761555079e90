import { describe, expect, it } from 'vitest';
import { CountWindow, TimeWindow } from './failure-window.js';

describe('CountWindow', () => {
  it('keeps the last `size` outcomes', () => {
    const w = new CountWindow(3);
    for (const failed of [true, true, false, false]) w.record(failed);
    expect(w.stats()).toEqual({ calls: 3, failures: 1 });
    expect(w.snapshot()).toEqual([1, 0, 0]);
    w.record(false);
    expect(w.stats()).toEqual({ calls: 3, failures: 0 });
  });

  it('restores oldest first and keeps only the newest `size`', () => {
    const w = new CountWindow(3);
    w.restore([1, 1, 0, 1]);
    expect(w.snapshot()).toEqual([1, 0, 1]);
    expect(w.stats()).toEqual({ calls: 3, failures: 2 });
  });
});

describe('TimeWindow', () => {
  it('counts the current bucket and the buckets−1 before it', () => {
    const w = new TimeWindow(1000, 10); // 100 ms buckets
    w.record(true, 0);
    w.record(false, 950);
    expect(w.stats(999)).toEqual({ calls: 2, failures: 1 });
    expect(w.stats(1000)).toEqual({ calls: 1, failures: 0 }); // bucket [0, 100) left
    w.record(true, 1050); // reuses slot 0 for [1000, 1100)
    expect(w.stats(1099)).toEqual({ calls: 2, failures: 1 });
    expect(w.stats(2000)).toEqual({ calls: 0, failures: 0 });
  });

  it('snapshot and restore round-trip; buckets from the future or misaligned are dropped', () => {
    const w = new TimeWindow(1000, 10);
    w.record(true, 100);
    w.record(true, 150);
    w.record(false, 420);
    const copy = new TimeWindow(1000, 10);
    copy.restore([...w.snapshot(), 5000, 9, 9, 250, 1, 1], 500);
    expect(copy.stats(500)).toEqual({ calls: 3, failures: 2 });
  });

  it('rejects windows shorter than their bucket count', () => {
    expect(() => new TimeWindow(5, 10)).toThrow(RangeError);
    expect(() => new CountWindow(0)).toThrow(RangeError);
  });
});

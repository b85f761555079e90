import { afterEach, describe, expect, it, vi } from 'vitest';
import { WriteBehindBuffer, type IntervalTimers, type WriteBehindOptions } from './write-behind-buffer.js';

/** Timers the test fires by hand. */
class ManualTimers implements IntervalTimers {
  fn: (() => void) | null = null;
  ms = 0;
  cleared = false;
  setInterval(fn: () => void, ms: number): unknown {
    this.fn = fn;
    this.ms = ms;
    return 1;
  }
  clearInterval(): void {
    this.cleared = true;
  }
  tick(): void {
    this.fn?.();
  }
}

function deferred() {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A store that sums what each flush writes, and can be told to fail or hang. */
function harness(overrides: Partial<WriteBehindOptions<string, number>> = {}) {
  const totals = new Map<string, number>();
  const batches: Map<string, number>[] = [];
  const errors: unknown[] = [];
  const drops: number[] = [];
  const state = { fail: false, failOnCall: 0, gate: null as null | Promise<void> };
  const timers = new ManualTimers();
  const buffer = new WriteBehindBuffer<string, number>({
    merge: (a, b) => a + b,
    async flush(entries) {
      batches.push(new Map(entries));
      if (state.gate) await state.gate;
      if (state.fail || state.failOnCall === batches.length) throw new Error('db down');
      for (const [k, v] of entries) totals.set(k, (totals.get(k) ?? 0) + v);
    },
    intervalMs: 1000,
    maxPending: 100,
    maxBuffered: 1000,
    onError: (e) => errors.push(e),
    onDrop: (n) => drops.push(n),
    timers,
    ...overrides,
  });
  return { buffer, totals, batches, errors, drops, state, timers };
}

/** Let queued promise callbacks run. */
const settle = () => new Promise<void>((res) => setImmediate(res));

afterEach(() => {
  vi.useRealTimers();
});

describe('WriteBehindBuffer', () => {
  it('merges values per key and writes one entry per key', async () => {
    const { buffer, totals, batches } = harness();
    buffer.add('a', 1);
    buffer.add('a', 2);
    buffer.add('b', 5);
    expect(buffer.stats().pending).toBe(2);
    await buffer.flushNow();
    expect(batches).toEqual([new Map([['a', 3], ['b', 5]])]);
    expect(totals).toEqual(new Map([['a', 3], ['b', 5]]));
    expect(buffer.stats()).toEqual({ pending: 0, flushed: 2, failedFlushes: 0, dropped: 0 });
  });

  it('flushes early, without being awaited, when maxPending distinct keys wait', async () => {
    const { buffer, batches } = harness({ maxPending: 3 });
    buffer.add('a', 1);
    buffer.add('a', 1);
    buffer.add('b', 1);
    await settle();
    expect(batches).toHaveLength(0);
    buffer.add('c', 1);
    await settle();
    expect(batches).toHaveLength(1);
    expect([...batches[0]!.keys()]).toEqual(['a', 'b', 'c']);
  });

  it('flushes on every interval tick and skips empty ticks', async () => {
    const { buffer, batches, timers } = harness();
    expect(timers.ms).toBe(1000);
    buffer.add('a', 1);
    timers.tick();
    await settle();
    expect(batches).toHaveLength(1);
    timers.tick();
    await settle();
    expect(batches).toHaveLength(1);
  });

  it('uses an unref-ed real interval by default', async () => {
    vi.useFakeTimers();
    const written: Map<string, number>[] = [];
    const buffer = new WriteBehindBuffer<string, number>({
      merge: (a, b) => a + b,
      flush: async (e) => void written.push(new Map(e)),
      intervalMs: 500,
      maxPending: 10,
      maxBuffered: 10,
    });
    buffer.add('a', 1);
    await vi.advanceTimersByTimeAsync(499);
    expect(written).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(written).toEqual([new Map([['a', 1]])]);
    await buffer.close();
    buffer.add('b', 1);
    await vi.advanceTimersByTimeAsync(5000);
    expect(written).toHaveLength(1);
  });

  it('keeps a failed batch and writes it exactly once on retry', async () => {
    const { buffer, totals, errors, state } = harness();
    buffer.add('a', 2);
    buffer.add('b', 1);
    state.fail = true;
    await expect(buffer.flushNow()).rejects.toThrow('db down');
    expect(errors).toHaveLength(1);
    expect(buffer.stats()).toMatchObject({ pending: 2, failedFlushes: 1, flushed: 0 });
    buffer.add('a', 3); // arrives while the store is down
    state.fail = false;
    await buffer.flushNow();
    expect(totals).toEqual(new Map([['a', 5], ['b', 1]]));
    await buffer.flushNow();
    expect(totals).toEqual(new Map([['a', 5], ['b', 1]]));
    expect(buffer.stats()).toMatchObject({ pending: 0, flushed: 2 });
  });

  it('writes a large backlog in batches of at most maxBatch, yielding between them', async () => {
    const { buffer, totals, batches } = harness({ maxBatch: 40, maxPending: 1000 });
    for (let i = 0; i < 100; i++) buffer.add(`k${i}`, 1);
    // Other work queued now must get its turn between batches, not after all of them.
    let batchesWhenOtherWorkRan = -1;
    setImmediate(() => (batchesWhenOtherWorkRan = batches.length));
    await buffer.flushNow();
    expect(batches.map((b) => b.size)).toEqual([40, 40, 20]);
    expect(totals.size).toBe(100);
    expect(buffer.stats()).toMatchObject({ pending: 0, flushed: 100 });
    expect(batchesWhenOtherWorkRan).toBeGreaterThan(0);
    expect(batchesWhenOtherWorkRan).toBeLessThan(3);
  });

  it('when a later batch fails, only it and the untried ones are kept: nothing twice, nothing lost', async () => {
    const { buffer, totals, errors, state } = harness({ maxBatch: 10, maxPending: 1000 });
    state.failOnCall = 2;
    for (let i = 0; i < 30; i++) buffer.add(`k${i}`, 1);
    await expect(buffer.flushNow()).rejects.toThrow('db down');
    expect(errors).toHaveLength(1);
    expect(totals.size).toBe(10);
    expect(buffer.stats()).toMatchObject({ pending: 20, flushed: 10 });
    await buffer.flushNow();
    expect(totals.size).toBe(30);
    expect([...totals.values()].every((v) => v === 1)).toBe(true);
  });

  it('an add during a slow flush goes to the next flush, not lost and not doubled', async () => {
    const { buffer, totals, batches, state } = harness();
    const gate = deferred();
    state.gate = gate.promise;
    buffer.add('a', 1);
    const first = buffer.flushNow();
    await settle();
    expect(batches).toHaveLength(1); // the first flush is running
    buffer.add('a', 10);
    buffer.add('b', 1);
    const second = buffer.flushNow();
    expect(buffer.flushNow()).toBe(second); // at most one flush waits behind the running one
    await settle();
    expect(batches).toHaveLength(1); // only one flush at a time
    gate.resolve();
    await Promise.all([first, second]);
    expect(batches.map((b) => Object.fromEntries(b))).toEqual([{ a: 1 }, { a: 10, b: 1 }]);
    expect(totals).toEqual(new Map([['a', 11], ['b', 1]]));
  });

  it('a failing slow flush merges its batch with values added meanwhile', async () => {
    const { buffer, totals, state } = harness();
    const gate = deferred();
    state.gate = gate.promise;
    state.fail = true;
    buffer.add('a', 1);
    const first = buffer.flushNow();
    await settle();
    buffer.add('a', 10);
    buffer.add('c', 1);
    gate.resolve();
    await expect(first).rejects.toThrow();
    expect(buffer.stats().pending).toBe(2);
    state.fail = false;
    state.gate = null;
    await buffer.flushNow();
    expect(totals).toEqual(new Map([['a', 11], ['c', 1]]));
  });

  it('does not flush early while flushes are failing; the timer retries', async () => {
    const { buffer, batches, state, timers } = harness({ maxPending: 2 });
    state.fail = true;
    buffer.add('a', 1);
    buffer.add('b', 1);
    await settle();
    expect(batches).toHaveLength(1);
    buffer.add('c', 1);
    buffer.add('d', 1);
    await settle();
    expect(batches).toHaveLength(1);
    state.fail = false;
    timers.tick();
    await settle();
    expect(batches).toHaveLength(2);
    expect(buffer.stats()).toMatchObject({ pending: 0, flushed: 4, failedFlushes: 1 });
    buffer.add('e', 1);
    buffer.add('f', 1);
    await settle();
    expect(batches).toHaveLength(3); // early flushes resume after a success
  });

  it('is bounded: new keys are dropped beyond maxBuffered, known keys still merge', async () => {
    const { buffer, totals, drops, state } = harness({ maxPending: 2, maxBuffered: 3 });
    state.fail = true;
    expect(buffer.add('a', 1)).toBe(true);
    expect(buffer.add('b', 1)).toBe(true); // early flush, fails
    await settle();
    expect(buffer.add('c', 1)).toBe(true);
    expect(buffer.add('d', 1)).toBe(false);
    expect(buffer.add('e', 1)).toBe(false);
    expect(buffer.add('a', 1)).toBe(true);
    expect(buffer.stats()).toMatchObject({ pending: 3, dropped: 2 });
    state.fail = false;
    await buffer.flushNow();
    expect(drops).toEqual([2]);
    expect(totals).toEqual(new Map([['a', 2], ['b', 1], ['c', 1]]));
  });

  it('counts the batch in flight against maxBuffered', async () => {
    const { buffer, state } = harness({ maxPending: 2, maxBuffered: 3 });
    const gate = deferred();
    state.gate = gate.promise;
    buffer.add('a', 1);
    buffer.add('b', 1); // early flush holds a, b
    await settle();
    expect(buffer.add('c', 1)).toBe(true);
    expect(buffer.add('d', 1)).toBe(false);
    gate.resolve();
    await buffer.flushNow();
    expect(buffer.add('d', 1)).toBe(true);
  });

  it('close stops the timer, writes everything, then drops later adds', async () => {
    const { buffer, totals, timers } = harness();
    buffer.add('a', 1);
    await buffer.close();
    expect(timers.cleared).toBe(true);
    expect(totals).toEqual(new Map([['a', 1]]));
    expect(buffer.add('b', 1)).toBe(false);
    expect(buffer.stats().dropped).toBe(1);
    await buffer.close(); // idempotent
  });

  it('close rejects when the final flush fails, and the entries are still there', async () => {
    const { buffer, state } = harness();
    buffer.add('a', 1);
    state.fail = true;
    await expect(buffer.close()).rejects.toThrow('db down');
    expect(buffer.stats().pending).toBe(1);
  });

  it('validates its options', () => {
    expect(() => harness({ maxBatch: 0 })).toThrow(RangeError);
    const base = { merge: (a: number, b: number) => a + b, flush: async () => {}, timers: new ManualTimers() };
    expect(() => new WriteBehindBuffer({ ...base, intervalMs: 0, maxPending: 1, maxBuffered: 1 })).toThrow(RangeError);
    expect(() => new WriteBehindBuffer({ ...base, intervalMs: 10, maxPending: 0, maxBuffered: 1 })).toThrow(RangeError);
    expect(() => new WriteBehindBuffer({ ...base, intervalMs: 10, maxPending: 5, maxBuffered: 4 })).toThrow(RangeError);
  });
});

import type { FakeClock } from '../clock.js';

/**
 * The two timer calls the policies use (backoff sleeps, deadlines, probe timeouts);
 * injectable so tests drive them with `FakeTimers` on a `FakeClock`.
 */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: Timers = {
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    handle.unref(); // a pending backoff or deadline never keeps the process alive on its own
    return handle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/**
 * Waits `ms`, or rejects with the signal's reason as soon as it is aborted (the timer is
 * cleared, so an abandoned backoff holds nothing).
 */
export function sleep(ms: number, timers: Timers, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      timers.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = timers.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
}

/** Lets pending promise callbacks run (everything queued before the next macrotask). */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Timers on a FakeClock: nothing fires until `advance()`, which moves the clock to each due
 * timer in order, runs it, and lets the promise callbacks it caused run before the next one.
 * `scheduled` records every requested delay, so tests can assert exact backoff schedules.
 */
export class FakeTimers implements Timers {
  readonly scheduled: number[] = [];
  private readonly pending = new Map<number, FakeTimer>();
  private seq = 0;

  constructor(readonly clock: FakeClock) {}

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.scheduled.push(ms);
    this.pending.set(id, { id, at: this.clock.now() + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Timers not yet fired or cleared. */
  get size(): number {
    return this.pending.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    await flushMicrotasks();
    const end = this.clock.now() + ms;
    for (;;) {
      const next = this.earliest();
      if (next === undefined || next.at > end) break;
      this.pending.delete(next.id);
      if (next.at > this.clock.now()) this.clock.set(next.at);
      next.fn();
      await flushMicrotasks();
    }
    if (end > this.clock.now()) this.clock.set(end);
    await flushMicrotasks();
  }

  /** Advances to the earliest pending timer and fires it (and any due at the same time). */
  async next(): Promise<void> {
    await flushMicrotasks();
    const next = this.earliest();
    if (next !== undefined) await this.advance(Math.max(0, next.at - this.clock.now()));
  }

  private earliest(): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.pending.values()) if (best === undefined || t.at < best.at) best = t;
    return best;
  }
}

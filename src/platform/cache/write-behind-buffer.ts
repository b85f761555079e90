/** The two timer calls the buffer uses; injectable so tests can drive the interval. */
export interface IntervalTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const nodeTimers: IntervalTimers = {
  setInterval(fn, ms) {
    const handle = setInterval(fn, ms);
    handle.unref(); // never keeps the process alive on its own
    return handle;
  },
  clearInterval(handle) {
    clearInterval(handle as ReturnType<typeof setInterval>);
  },
};

export interface WriteBehindOptions<K, V> {
  /**
   * Combine two values for one key; `a` is the older. May mutate and return `a` (the buffer
   * owns both values and keeps only the result), which saves an allocation per add.
   */
  merge(a: V, b: V): V;
  /**
   * Write a batch. Must be all-or-nothing (one transaction): a rejected batch is retried in
   * full, so a flush that wrote part of it before failing would count that part twice.
   * Must not mutate the map.
   */
  flush(entries: Map<K, V>): Promise<void>;
  /** A background flush runs every intervalMs. */
  intervalMs: number;
  /** Distinct pending keys that trigger an early background flush. */
  maxPending: number;
  /** Most distinct keys held (pending + being flushed); new keys beyond it are dropped. */
  maxBuffered: number;
  /**
   * Most entries per `flush` call. A larger backlog is written as several batches, each
   * all-or-nothing, with the event loop free between them, so a big flush never blocks
   * other work for long. Default: everything in one batch.
   */
  maxBatch?: number;
  /** Called with every failed flush's error (the entries are kept for the next flush). */
  onError?(err: unknown): void;
  /** Called with the number of values dropped since the last report, once per flush. */
  onDrop?(n: number): void;
  timers?: IntervalTimers;
}

export interface WriteBehindStats {
  /** Distinct keys waiting for a flush (not counting a batch being written). */
  pending: number;
  /** Entries (distinct keys per batch) written successfully. */
  flushed: number;
  failedFlushes: number;
  /** Values refused because the buffer was full or closed. */
  dropped: number;
}

/**
 * Write-behind aggregation (chapter §4): `add()` merges a value into an in-memory map with
 * no I/O and no await, and batches are written by one flush at a time — every intervalMs,
 * early when maxPending distinct keys are waiting, and on flushNow()/close().
 *
 * Failure and bounds (defect 8 in DESIGN.md):
 * - A failed flush merges its batch back into the pending map; the next flush retries it,
 *   so nothing is lost or counted twice while the process lives. While flushes fail, only
 *   the timer retries (no early flushes), so a down database is not hammered.
 * - Memory is bounded: while pending keys plus the batch in flight reach maxBuffered (flushes
 *   failing or too slow), values for NEW keys are dropped and counted (`stats().dropped`,
 *   `onDrop`); values for keys already buffered are still merged, they take no more memory.
 * - The buffer lives in memory only: a crash (`kill -9`) loses at most what was added since
 *   the last successful flush, i.e. ≤ intervalMs of data, or more while flushes were failing.
 *   close() on graceful shutdown writes everything.
 * - add() after close() drops the value and counts it.
 */
export class WriteBehindBuffer<K, V> {
  private pending = new Map<K, V>();
  private inFlightSize = 0;
  private tail: Promise<void> = Promise.resolve();
  private queued: Promise<void> | null = null;
  private failing = false;
  private closed = false;
  private flushed = 0;
  private failedFlushes = 0;
  private dropped = 0;
  private unreportedDrops = 0;
  private readonly timers: IntervalTimers;
  private readonly timer: unknown;

  constructor(private readonly options: WriteBehindOptions<K, V>) {
    const { intervalMs, maxPending, maxBuffered } = options;
    if (!(intervalMs > 0) || !Number.isFinite(intervalMs)) throw new RangeError(`intervalMs must be > 0, got ${intervalMs}`);
    if (!Number.isSafeInteger(maxPending) || maxPending < 1) throw new RangeError(`maxPending must be a positive integer, got ${maxPending}`);
    if (!Number.isSafeInteger(maxBuffered) || maxBuffered < maxPending) {
      throw new RangeError(`maxBuffered must be an integer ≥ maxPending, got ${maxBuffered}`);
    }
    if (options.maxBatch !== undefined && !(options.maxBatch >= 1)) {
      throw new RangeError(`maxBatch must be ≥ 1, got ${options.maxBatch}`);
    }
    this.timers = options.timers ?? nodeTimers;
    this.timer = this.timers.setInterval(() => this.flushInBackground(), intervalMs);
  }

  /** Merge `value` into the pending entry for `key`. False when the value was dropped. */
  add(key: K, value: V): boolean {
    if (this.closed) return this.drop();
    const existing = this.pending.get(key);
    if (existing !== undefined) {
      this.pending.set(key, this.options.merge(existing, value));
      return true;
    }
    if (this.pending.size + this.inFlightSize >= this.options.maxBuffered) return this.drop();
    this.pending.set(key, value);
    if (this.pending.size >= this.options.maxPending && !this.failing) this.flushInBackground();
    return true;
  }

  /**
   * Write everything pending now (after any flush already running). Rejects with the flush
   * error if that write fails; the entries then stay pending.
   */
  flushNow(): Promise<void> {
    if (this.queued !== null) return this.queued; // not started yet: it will take everything
    const run = this.tail.then(() => this.flushOnce());
    this.queued = run;
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Stop the timer and write everything pending; rejects if that final write fails. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.timers.clearInterval(this.timer);
    }
    await this.flushNow();
  }

  stats(): WriteBehindStats {
    return {
      pending: this.pending.size,
      flushed: this.flushed,
      failedFlushes: this.failedFlushes,
      dropped: this.dropped,
    };
  }

  private drop(): false {
    this.dropped++;
    this.unreportedDrops++;
    return false;
  }

  private flushInBackground(): void {
    if (this.queued !== null) return; // one already waiting will take everything
    // Failures are reported to onError inside flushOnce.
    this.flushNow().catch(() => undefined);
  }

  private async flushOnce(): Promise<void> {
    this.queued = null;
    this.reportDrops();
    if (this.pending.size === 0) return;
    const batches = split(this.pending, this.options.maxBatch ?? Infinity);
    this.inFlightSize = this.pending.size;
    this.pending = new Map();
    let written = 0;
    try {
      for (const batch of batches) {
        if (written > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        await this.options.flush(batch);
        written++;
        this.flushed += batch.size;
        this.inFlightSize -= batch.size;
      }
      this.failing = false;
    } catch (err) {
      this.failedFlushes++;
      this.failing = true;
      // The failed batch and those not yet tried go back; the written ones stay written.
      for (const batch of batches.slice(written)) this.restore(batch);
      this.options.onError?.(err);
      throw err;
    } finally {
      this.inFlightSize = 0;
    }
  }

  /** Put a failed batch back; values added meanwhile are newer, so they merge after it. */
  private restore(batch: Map<K, V>): void {
    for (const [key, older] of batch) {
      const newer = this.pending.get(key);
      this.pending.set(key, newer === undefined ? older : this.options.merge(older, newer));
    }
  }

  private reportDrops(): void {
    if (this.unreportedDrops === 0) return;
    const n = this.unreportedDrops;
    this.unreportedDrops = 0;
    this.options.onDrop?.(n);
  }
}

function split<K, V>(all: Map<K, V>, max: number): Map<K, V>[] {
  if (all.size <= max) return [all];
  const out: Map<K, V>[] = [];
  let current = new Map<K, V>();
  for (const [k, v] of all) {
    if (current.size >= max) {
      out.push(current);
      current = new Map();
    }
    current.set(k, v);
  }
  out.push(current);
  return out;
}

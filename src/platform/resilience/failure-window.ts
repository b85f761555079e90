/**
 * Sliding windows of call outcomes for the circuit breaker's failure-rate rule (Resilience4j's
 * COUNT_BASED and TIME_BASED windows). Recording is O(1); the rate is read only after a
 * failure, so successful calls never pay for a sum.
 */

export interface WindowStats {
  calls: number;
  failures: number;
}

export interface OutcomeWindow {
  record(failed: boolean, now: number): void;
  stats(now: number): WindowStats;
  reset(): void;
  /** Plain data for toJSON; `restore` accepts it back (and ignores data of another shape). */
  snapshot(): number[];
  restore(data: readonly number[], now: number): void;
}

/** The last `size` calls, in a ring of bytes. */
export class CountWindow implements OutcomeWindow {
  private readonly ring: Uint8Array;
  private next = 0;
  private filled = 0;
  private failures = 0;

  constructor(readonly size: number) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`window size must be an integer ≥ 1, got ${size}`);
    this.ring = new Uint8Array(size);
  }

  record(failed: boolean): void {
    const value = failed ? 1 : 0;
    if (this.filled === this.size) this.failures -= this.ring[this.next] as number;
    else this.filled++;
    this.ring[this.next] = value;
    this.failures += value;
    this.next = this.next + 1 === this.size ? 0 : this.next + 1;
  }

  stats(): WindowStats {
    return { calls: this.filled, failures: this.failures };
  }

  reset(): void {
    this.ring.fill(0);
    this.next = 0;
    this.filled = 0;
    this.failures = 0;
  }

  /** Outcomes oldest first (1 = failed). */
  snapshot(): number[] {
    const out: number[] = [];
    const start = this.filled === this.size ? this.next : 0;
    for (let i = 0; i < this.filled; i++) out.push(this.ring[(start + i) % this.size] as number);
    return out;
  }

  restore(data: readonly number[]): void {
    this.reset();
    for (const v of data.slice(-this.size)) this.record(v === 1);
  }
}

/**
 * The calls of the last `ms` milliseconds, in `buckets` buckets of ms/buckets each (aligned
 * to multiples of the bucket length); a call leaves the window when its bucket does, so the
 * window spans the current, partial bucket and the buckets−1 before it: between
 * ms − ms/buckets and ms.
 */
export class TimeWindow implements OutcomeWindow {
  private readonly bucketMs: number;
  private readonly starts: Float64Array;
  private readonly calls: Uint32Array;
  private readonly failures: Uint32Array;

  constructor(
    readonly ms: number,
    readonly buckets = 10,
  ) {
    if (!Number.isSafeInteger(buckets) || buckets < 1) throw new RangeError(`buckets must be an integer ≥ 1, got ${buckets}`);
    if (!Number.isSafeInteger(ms) || ms < buckets) throw new RangeError(`window ms must be an integer ≥ buckets, got ${ms}`);
    this.bucketMs = Math.ceil(ms / buckets);
    this.starts = new Float64Array(buckets).fill(-Infinity);
    this.calls = new Uint32Array(buckets);
    this.failures = new Uint32Array(buckets);
  }

  record(failed: boolean, now: number): void {
    const start = Math.floor(now / this.bucketMs) * this.bucketMs;
    const i = Math.floor(now / this.bucketMs) % this.buckets;
    if (this.starts[i] !== start) {
      this.starts[i] = start;
      this.calls[i] = 0;
      this.failures[i] = 0;
    }
    (this.calls[i] as number)++;
    if (failed) (this.failures[i] as number)++;
  }

  stats(now: number): WindowStats {
    const oldest = Math.floor(now / this.bucketMs) * this.bucketMs - (this.buckets - 1) * this.bucketMs;
    let calls = 0;
    let failures = 0;
    for (let i = 0; i < this.buckets; i++) {
      const start = this.starts[i] as number;
      if (start >= oldest && start <= now) {
        calls += this.calls[i] as number;
        failures += this.failures[i] as number;
      }
    }
    return { calls, failures };
  }

  reset(): void {
    this.starts.fill(-Infinity);
    this.calls.fill(0);
    this.failures.fill(0);
  }

  /** [start, calls, failures] per live bucket, flattened. */
  snapshot(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.buckets; i++) {
      if ((this.calls[i] as number) > 0) out.push(this.starts[i] as number, this.calls[i] as number, this.failures[i] as number);
    }
    return out;
  }

  restore(data: readonly number[], now: number): void {
    this.reset();
    for (let k = 0; k + 2 < data.length; k += 3) {
      const start = data[k] as number;
      if (!Number.isFinite(start) || start % this.bucketMs !== 0 || start > now) continue;
      const i = Math.floor(start / this.bucketMs) % this.buckets;
      this.starts[i] = start;
      this.calls[i] = data[k + 1] as number;
      this.failures[i] = Math.min(data[k + 2] as number, data[k + 1] as number);
    }
  }
}

import { BloomFilter } from './bloom-filter.js';

/** How a process learns that other processes created keys (the invalidation bus). */
export interface KeySync {
  /** Starts tracking from the shared counter; every change numbered up to it is in the source. */
  resync(): Promise<void>;
  /** The shared counter, read after this call. */
  latest(): Promise<number>;
  /** Every change numbered up to `latest` has been received here. */
  isCurrent(latest: number): boolean;
}

export interface KeyFilterOptions {
  /** Every existing key, page by page, from the source of truth. */
  keys(): AsyncIterable<readonly string[]>;
  /** Keys the filter is sized for at least; a rebuild sizes for twice the keys it found. */
  capacity: number;
  falsePositiveRate: number;
  /**
   * Other writers' creations. Without it, this process must be the only one creating keys
   * (otherwise their keys would be refused here).
   */
  sync?: KeySync;
  /** A failed build is retried after this long (ms). Default 5000. */
  retryMs?: number;
  onError?(err: unknown): void;
  onBuilt?(info: { keys: number; capacity: number; bytes: number; ms: number }): void;
}

type State =
  /** `next` is being filled; `usable` (a complete older filter) answers meanwhile, if any. */
  | { kind: 'building'; next: BloomFilter; usable: BloomFilter | undefined }
  | { kind: 'ready'; filter: BloomFilter }
  /** The last build failed: every lookup passes until a retry succeeds. */
  | { kind: 'failed' };

/**
 * The Bloom filter of existing keys, kept complete (chapter §4 penetration). A lookup it
 * refuses never reaches the cache tiers or the database.
 *
 * It must never refuse a key that exists, so:
 * - it is filled from the source of truth, page by page, before it answers (start());
 * - keys created here are added at once, keys created elsewhere when their change message
 *   arrives; and before refusing, it asks the shared counter whether any change it has not
 *   received yet was announced (a key created elsewhere a moment ago passes then);
 * - when messages may have been lost (a gap), it stops answering and rebuilds from the source;
 * - while building, or after a failed build, every lookup passes (to the negative cache and
 *   the database, as without a filter).
 *
 * Deleted keys stay in it (a Bloom filter cannot remove), as false positives. When it holds
 * more keys than it was sized for it rebuilds at twice the size, answering from the old one
 * meanwhile.
 */
export class KeyFilter {
  private state: State;
  private current: Promise<void> = Promise.resolve();
  private epoch = 0;
  private lastCount = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly counters = { builds: 0, failedBuilds: 0, refused: 0, passedUnsynced: 0 };

  constructor(private readonly options: KeyFilterOptions) {
    this.state = { kind: 'building', next: this.newFilter(), usable: undefined };
  }

  /**
   * The first build; resolves once the filter answers. Rejects if it failed (lookups then pass
   * until a retry succeeds).
   */
  async start(): Promise<void> {
    this.current = this.build(this.state.kind === 'building' ? this.state.next : this.newFilter(), true);
    // A gap during the first build starts another: wait for whichever finishes last.
    let awaited: Promise<void> | undefined;
    while (this.state.kind === 'building' && awaited !== this.current) {
      awaited = this.current;
      await awaited;
    }
    if (this.state.kind !== 'ready') throw new Error('the key filter could not be built');
  }

  add(key: string): void {
    const s = this.state;
    if (s.kind === 'ready') {
      s.filter.add(key);
      if (s.filter.overCapacity) this.grow(s.filter);
    } else if (s.kind === 'building') {
      s.next.add(key);
      s.usable?.add(key);
    }
  }

  /** True only when `key` certainly does not exist. */
  async definitelyAbsent(key: string): Promise<boolean> {
    const s = this.state;
    const filter = s.kind === 'ready' ? s.filter : s.kind === 'building' ? s.usable : undefined;
    if (filter === undefined || filter.mightContain(key)) return false;
    const sync = this.options.sync;
    if (sync === undefined) return this.refuse();
    let latest: number;
    try {
      latest = await sync.latest();
    } catch (err) {
      this.options.onError?.(err);
      return false;
    }
    // Re-checked after the wait: the key may have arrived, or the filter been dropped.
    if (this.state !== s || filter.mightContain(key)) return false;
    if (!sync.isCurrent(latest)) {
      this.counters.passedUnsynced++;
      return false;
    }
    return this.refuse();
  }

  /** Messages were lost: stop answering and rebuild from the source (in the background). */
  rebuild(): void {
    if (this.closed) return;
    const next = this.newFilter();
    this.state = { kind: 'building', next, usable: undefined };
    this.current = this.build(next, true).catch(() => undefined);
  }

  stats() {
    const s = this.state;
    const filter = s.kind === 'ready' ? s.filter : s.kind === 'building' ? s.usable : undefined;
    return {
      state: s.kind,
      keysAtLastBuild: this.lastCount,
      capacity: filter?.capacity ?? 0,
      bytes: filter?.byteLength ?? 0,
      estimatedFalsePositiveRate: filter?.estimatedFalsePositiveRate ?? 1,
      ...this.counters,
    };
  }

  close(): void {
    this.closed = true;
    this.epoch++;
    clearTimeout(this.retryTimer);
  }

  private refuse(): true {
    this.counters.refused++;
    return true;
  }

  /** Too full: build a bigger one, answering from the current one meanwhile. */
  private grow(current: BloomFilter): void {
    const next = this.newFilter(current.estimatedItems);
    this.state = { kind: 'building', next, usable: current };
    // No resync: the change stream is unbroken, so what `current` knows stays counted.
    this.current = this.build(next, false).catch(() => undefined);
  }

  private newFilter(atLeast = 0): BloomFilter {
    const capacity = Math.max(this.options.capacity, 2 * this.lastCount, 2 * atLeast);
    return new BloomFilter(capacity, this.options.falsePositiveRate);
  }

  private async build(next: BloomFilter, resync: boolean): Promise<void> {
    const epoch = ++this.epoch;
    clearTimeout(this.retryTimer);
    const started = performance.now(); // a duration for the report, not cache time
    this.counters.builds++;
    try {
      // Counter first, then the source: every change numbered up to the counter is in it.
      if (resync) await this.options.sync?.resync();
      let count = 0;
      for await (const page of this.options.keys()) {
        if (epoch !== this.epoch) return; // superseded by a newer build
        for (const key of page) next.add(key);
        count += page.length;
      }
      if (epoch !== this.epoch) return;
      this.lastCount = count;
      this.state = { kind: 'ready', filter: next };
      this.options.onBuilt?.({ keys: count, capacity: next.capacity, bytes: next.byteLength, ms: Math.round(performance.now() - started) });
      if (next.overCapacity) this.grow(next);
    } catch (err) {
      if (epoch !== this.epoch) return;
      this.counters.failedBuilds++;
      this.state = { kind: 'failed' };
      this.options.onError?.(err);
      if (!this.closed) {
        this.retryTimer = setTimeout(() => this.rebuild(), this.options.retryMs ?? 5000);
        this.retryTimer.unref();
      }
      throw err;
    }
  }
}

import type { Clock } from '../clock.js';
import type { Stamped } from './cache.js';
import { shouldRefreshEarly, uniformOpenZero } from './early-refresh.js';
import type { GuardStore } from './guard-store.js';
import { Singleflight } from './singleflight.js';

export interface StampedeGuardOptions<V> {
  store: GuardStore<V>;
  /** Loads a key's value from the source of truth (the database). */
  load(key: string): Promise<V>;
  clock: Clock;
  /** How long a loaded value is fresh (may depend on it: "no such key" answers live shorter); 0: not stored. */
  ttlMs(value: V): number;
  /** How long after its freshness an entry is still served, while one caller refreshes it. */
  staleMs: number;
  /** How long a lease holds; bounds the wait caused by a holder that crashed. */
  leaseTtlMs: number;
  /** XFetch beta (1 is the paper's default; 0 turns early refresh off). */
  beta: number;
  /** Longest a caller waits for another holder's load before loading itself. Default 2 × leaseTtlMs. */
  maxWaitMs?: number;
  /** First pause between polls while another holder loads; it doubles up to maxPollMs. Default 5. */
  pollMs?: number;
  /** Default 100. */
  maxPollMs?: number;
  /** Uniform in (0, 1], for XFetch. */
  rand?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Failures of the store (e.g. Redis down) and of background refreshes; the caller still gets a value. */
  onError?(err: unknown): void;
}

export interface StampedeGuardStats {
  /** Answers from the shared tier (fresh or stale). */
  hits: number;
  /** Of those, entries past freshness served while being refreshed. */
  staleServed: number;
  /** Loads from the source: under the lease, in the background, or after waiting too long. */
  loads: number;
  earlyRefreshes: number;
  /** Callers that waited for another holder (each counted once). */
  waited: number;
  /** Waits that ran out, after which the caller loaded itself. */
  waitTimeouts: number;
  /** Loads whose store was refused because the lease was lost (expired or invalidated). */
  lostLeases: number;
  storeErrors: number;
}

const sleepReal = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Cache-aside over a shared tier, protected against stampedes (chapter §4; defect 3):
 *
 * - in process, concurrent callers of one key share one fetch (singleflight);
 * - across processes, a miss takes a lease (Redis SET NX PX with a unique token) and only the
 *   holder loads; the others poll the shared tier with a doubling pause until the value
 *   appears, the lease frees (they then try to take it), or maxWaitMs passes (they then load
 *   themselves: a crashed or hung holder costs at most that wait, then one load per waiter);
 * - the holder stores the value only if it still holds the lease, so a load an invalidation
 *   overtook is not stored;
 * - a fresh entry is refreshed early, in the background, with XFetch probability, so hot keys
 *   rarely expire at all; an entry past freshness but within staleMs is served at once while
 *   one caller (the lease holder) refreshes it (serve-stale while revalidating).
 *
 * When the store fails (Redis unreachable), callers load directly: the singleflight still
 * bounds the load to one per key per process.
 */
export class StampedeGuard<V> {
  private readonly flight = new Singleflight<string, Stamped<V>>();
  private readonly refreshing = new Set<string>();
  private readonly maxWaitMs: number;
  private readonly pollMs: number;
  private readonly maxPollMs: number;
  private readonly rand: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly counters: StampedeGuardStats = {
    hits: 0,
    staleServed: 0,
    loads: 0,
    earlyRefreshes: 0,
    waited: 0,
    waitTimeouts: 0,
    lostLeases: 0,
    storeErrors: 0,
  };

  constructor(private readonly options: StampedeGuardOptions<V>) {
    if (!(options.leaseTtlMs > 0)) throw new RangeError(`leaseTtlMs must be > 0, got ${options.leaseTtlMs}`);
    if (!(options.staleMs >= 0)) throw new RangeError(`staleMs must be ≥ 0, got ${options.staleMs}`);
    this.maxWaitMs = options.maxWaitMs ?? 2 * options.leaseTtlMs;
    this.pollMs = options.pollMs ?? 5;
    this.maxPollMs = options.maxPollMs ?? 100;
    this.rand = options.rand ?? uniformOpenZero;
    this.sleep = options.sleep ?? sleepReal;
  }

  /** The key's entry: from the shared tier, or loaded once however many callers ask together. */
  get(key: string): Promise<Stamped<V>> {
    return this.flight.do(key, () => this.fetch(key));
  }

  stats(): StampedeGuardStats {
    return { ...this.counters };
  }

  /** Keys being refreshed in the background now. */
  get refreshingNow(): number {
    return this.refreshing.size;
  }

  private async fetch(key: string): Promise<Stamped<V>> {
    const deadline = this.options.clock.now() + this.maxWaitMs;
    let pause = this.pollMs;
    let waited = false;
    for (;;) {
      let probe;
      try {
        probe = await this.options.store.probe(key, this.options.leaseTtlMs);
      } catch (err) {
        this.storeFailed(err);
        return this.loadOnly(key);
      }
      if (probe.kind === 'hit') return this.served(key, probe.entry);
      if (probe.kind === 'leased') return this.loadAndStore(key, probe.token);
      if (!waited) {
        waited = true;
        this.counters.waited++;
      }
      const left = deadline - this.options.clock.now();
      if (left <= 0) {
        this.counters.waitTimeouts++;
        return this.loadOnly(key);
      }
      await this.sleep(Math.min(pause, left));
      pause = Math.min(pause * 2, this.maxPollMs);
    }
  }

  /** A hit: served as is; refreshed in the background when stale or when XFetch says so. */
  private served(key: string, entry: Stamped<V>): Stamped<V> {
    this.counters.hits++;
    const now = this.options.clock.now();
    if (now >= entry.freshUntil) {
      this.counters.staleServed++;
      this.refreshInBackground(key);
    } else if (shouldRefreshEarly(now, entry.freshUntil, entry.delta, this.options.beta, this.rand)) {
      this.counters.earlyRefreshes++;
      this.refreshInBackground(key);
    }
    return entry;
  }

  /** One refresh per key per process at a time, and only by the lease holder across processes. */
  private refreshInBackground(key: string): void {
    if (this.refreshing.has(key)) return;
    this.refreshing.add(key);
    const run = async () => {
      const token = await this.options.store.acquire(key, this.options.leaseTtlMs);
      if (token !== null) await this.loadAndStore(key, token);
    };
    run()
      .catch((err: unknown) => this.options.onError?.(err))
      .finally(() => this.refreshing.delete(key));
  }

  private async loadAndStore(key: string, token: string): Promise<Stamped<V>> {
    let entry: Stamped<V>;
    try {
      entry = await this.loadOnly(key);
    } catch (err) {
      await this.options.store.release(key, token).catch((e: unknown) => this.storeFailed(e));
      throw err;
    }
    const fresh = entry.freshUntil - this.options.clock.now();
    try {
      if (fresh <= 0) await this.options.store.release(key, token); // not to be cached (ttlMs 0)
      else if (!(await this.options.store.commit(key, token, entry, fresh + this.options.staleMs))) this.counters.lostLeases++;
    } catch (err) {
      this.storeFailed(err);
    }
    return entry;
  }

  /** Loads and stamps, storing nothing. */
  private async loadOnly(key: string): Promise<Stamped<V>> {
    const started = this.options.clock.now();
    this.counters.loads++;
    const value = await this.options.load(key);
    const now = this.options.clock.now();
    return { value, freshUntil: now + this.options.ttlMs(value), delta: now - started };
  }

  private storeFailed(err: unknown): void {
    this.counters.storeErrors++;
    this.options.onError?.(err);
  }
}

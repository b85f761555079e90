import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Clock } from '../../platform/clock.js';
import type { ClickBatch } from '../../shortener/clicks.js';
import { batchFromHash, type FlushBatch } from './click-fields.js';

/** Where flushed clicks go: one transaction holding the clicks and the flush's marker. */
export interface ClickFlushTarget {
  /** Writes the batch and the marker `id` at once; false (nothing written) when the marker exists. */
  apply(id: string, batch: ClickBatch & { keys?: Map<number, string> }, now: number, beforeCommit?: () => Promise<void>): Promise<boolean>;
  isApplied(id: string): Promise<boolean>;
  /** Deletes markers applied before `before`. */
  prune(before: number): Promise<number>;
}

/** Points where tests make a flush fail, as a crash there would leave things. */
export interface FlushFaults {
  afterRename?: (flushingKey: string) => Promise<void>;
  /** Inside the database transaction, after the writes, before the commit. */
  beforeCommit?: () => Promise<void>;
  afterCommit?: (flushingKey: string) => Promise<void>;
}

export interface ClickFlusherOptions {
  /** Same prefix as the counters'. */
  prefix: string;
  intervalMs: number;
  /** How long the flusher lease outlives a holder that stopped renewing it. */
  leaseTtlMs: number;
  /** Markers older than this are deleted (after a full recovery pass). */
  markerRetentionMs?: number;
  faults?: FlushFaults;
  onError?: (err: unknown) => void;
  /** A flush applied (or found applied) and deleted. */
  onFlushed?: (info: { id: string; clicks: number; fields: number; malformed: number; applied: boolean }) => void;
}

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
const DAY_MS = 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

/**
 * Moves clicks from the Redis pending hash to the database, exactly once (ADR 7):
 *   1. RENAME pending → flushing:<id> (atomic: new clicks start a fresh pending hash);
 *   2. HGETALL, then one transaction: marker row <id> + rollups + running counts;
 *   3. DEL flushing:<id>.
 * A flushing key left by a crash is found by SCAN and finished: marker present → only DEL;
 * absent → apply. Only the holder of a Redis lease flushes; the marker (a primary key) is what
 * makes a second application impossible even if two flushers ever overlap.
 */
export class ClickFlusher {
  private readonly pendingKey: string;
  private readonly flushingPrefix: string;
  private readonly leaseKey: string;
  private readonly token = `${hostname()}/${process.pid}/${randomBytes(6).toString('hex')}`;
  private holding = false;
  private needsScan = true;
  private lastPrune = -Infinity;
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  /** Flushes applied by this flusher; flushes found applied and only deleted. */
  readonly stats = { applied: 0, alreadyApplied: 0, clicks: 0, failures: 0 };

  constructor(
    private readonly redis: Redis,
    private readonly target: ClickFlushTarget,
    private readonly clock: Clock,
    private readonly options: ClickFlusherOptions,
  ) {
    this.pendingKey = `${options.prefix}pending`;
    this.flushingPrefix = `${options.prefix}flushing:`;
    this.leaseKey = `${options.prefix}flusher`;
  }

  /** Ticks every interval: take or renew the lease, then flush when holding it. */
  start(): void {
    const tick = Math.max(10, Math.min(this.options.intervalMs, this.options.leaseTtlMs / 3));
    this.timer = setInterval(() => void this.tick(), tick);
    this.timer.unref();
    void this.tick();
  }

  get isHolder(): boolean {
    return this.holding;
  }

  /** One tick, joined if one runs already. */
  tick(): Promise<void> {
    this.running ??= this.runTick().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Takes the lease if free (or renews it); true when this flusher holds it. */
  async holdLease(): Promise<boolean> {
    if (this.holding) {
      const renewed = await this.redis.eval(RENEW, 1, this.leaseKey, this.token, this.options.leaseTtlMs);
      this.holding = renewed === 1;
    } else {
      const taken = await this.redis.set(this.leaseKey, this.token, 'PX', this.options.leaseTtlMs, 'NX');
      this.holding = taken === 'OK';
      if (this.holding) this.needsScan = true; // whoever held it before may have left flushing keys
    }
    return this.holding;
  }

  /**
   * Finishes what crashed flushes left, then flushes the pending hash once. Does not check the
   * lease (tick does); tests call it directly.
   */
  async flushOnce(): Promise<void> {
    if (this.needsScan) {
      await this.recover();
      this.needsScan = false;
      await this.maybePrune();
    }
    const id = `${this.clock.now()}-${randomBytes(8).toString('hex')}`;
    const flushingKey = this.flushingPrefix + id;
    try {
      await this.redis.rename(this.pendingKey, flushingKey);
    } catch (err) {
      if (err instanceof Error && /no such key/i.test(err.message)) return;
      throw err;
    }
    try {
      await this.options.faults?.afterRename?.(flushingKey);
      await this.finish(flushingKey);
    } catch (err) {
      this.needsScan = true; // the flushing key stays; the next flush finds and finishes it
      throw err;
    }
  }

  /** Finds every flushing key (SCAN) and finishes each. */
  async recover(): Promise<number> {
    let cursor = '0';
    let found = 0;
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${globEscape(this.flushingPrefix)}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        found++;
        await this.finish(key);
      }
    } while (cursor !== '0');
    return found;
  }

  /** Flushes what is pending and releases the lease (shutdown). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
    try {
      if (await this.holdLease()) await this.flushOnce();
    } finally {
      if (this.holding) await this.redis.eval(RELEASE, 1, this.leaseKey, this.token).catch(() => undefined);
      this.holding = false;
    }
  }

  private async runTick(): Promise<void> {
    if (this.closed) return;
    try {
      if (!(await this.holdLease())) return;
      await this.flushOnce();
    } catch (err) {
      this.stats.failures++;
      this.options.onError?.(err);
    }
  }

  /** Applies the flushing key's clicks with its marker unless already applied, then deletes it. */
  private async finish(flushingKey: string): Promise<void> {
    const id = flushingKey.slice(this.flushingPrefix.length);
    const faults = this.options.faults;
    let applied = false;
    let batch: FlushBatch | undefined;
    if (!(await this.target.isApplied(id))) {
      batch = batchFromHash(await this.redis.hgetall(flushingKey));
      applied = await this.target.apply(id, batch, this.clock.now(), faults?.beforeCommit);
    }
    await faults?.afterCommit?.(flushingKey);
    await this.redis.del(flushingKey);
    if (applied) {
      this.stats.applied++;
      this.stats.clicks += batch?.clicks ?? 0;
    } else {
      this.stats.alreadyApplied++;
    }
    this.options.onFlushed?.({ id, clicks: batch?.clicks ?? 0, fields: batch?.rollups.length ?? 0, malformed: batch?.malformed ?? 0, applied });
  }

  private async maybePrune(): Promise<void> {
    const now = this.clock.now();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    await this.target.prune(now - (this.options.markerRetentionMs ?? 7 * DAY_MS));
  }
}

/** `text` as a literal in a Redis MATCH pattern (a prefix may hold `*`, `?`, `[`, `]` or `\`). */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

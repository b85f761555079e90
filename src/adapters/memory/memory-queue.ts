import { systemClock, type Clock } from '../../platform/clock.js';
import type { Backoff } from '../../platform/resilience/backoff.js';
import { LeaseLostError, QueueUsageError } from '../../platform/queue/errors.js';
import { longPoll } from '../../platform/queue/long-poll.js';
import {
  QUEUE_DEFAULTS,
  checkQueueName,
  decodeCursor,
  defaultQueueBackoff,
  encodeCursor,
  encodePayload,
  nextLeaseToken,
  normaliseEnqueue,
  normaliseLease,
  type QueueAdapterOptions,
} from '../../platform/queue/options.js';
import type {
  DeadJob,
  EnqueueItem,
  EnqueueOptions,
  JsonValue,
  LeasedJob,
  LeaseOptions,
  NackOptions,
  NackOutcome,
  Page,
  Queue,
  QueueStats,
} from '../../platform/queue/types.js';
import { WaitList } from '../../platform/queue/wait-list.js';

type State = 'pending' | 'dead' | 'done';
interface Row {
  id: number;
  queue: string;
  state: State;
  priority: number;
  runAt: number;
  payload: string;
  attempts: number;
  maxAttempts: number;
  leaseToken: string | null;
  dedupeKey: string | null;
  lastError: string | null;
  createdAt: number;
  deadAt: number | null;
}

/**
 * The Queue port in memory: the same semantics as the SQLite adapter (one contract suite), for
 * unit tests and single-process tools. Lease scans the queue's rows (O(n)); nothing survives
 * the process.
 */
export class MemoryQueue implements Queue {
  private readonly rows = new Map<number, Row>();
  private readonly byDedupe = new Map<string, Row>();
  private nextId = 1;
  private closed = false;
  private readonly waitList = new WaitList();
  private readonly clock: Clock;
  private readonly backoff: Backoff;
  private readonly maxAttempts: number;
  private readonly dedupeWindowMs: number;

  constructor(options: QueueAdapterOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.backoff = options.backoff ?? defaultQueueBackoff();
    this.maxAttempts = options.maxAttempts ?? QUEUE_DEFAULTS.maxAttempts;
    this.dedupeWindowMs = options.dedupeWindowMs ?? 0;
  }

  enqueue<P extends JsonValue>(queue: string, payload: P, options?: EnqueueOptions): Promise<string> {
    return this.enqueueBatch(queue, [{ payload, ...(options ? { options } : {}) }]).then((ids) => ids[0] as string);
  }

  enqueueBatch<P extends JsonValue>(queue: string, items: readonly EnqueueItem<P>[]): Promise<string[]> {
    return this.run(() => {
      checkQueueName(queue);
      // Validate everything first: the batch is all or nothing.
      const prepared = items.map((item) => ({
        payload: encodePayload(item.payload),
        n: normaliseEnqueue(item.options, this.clock, this.maxAttempts),
      }));
      const now = this.clock.now();
      const ids = prepared.map(({ payload, n }) => {
        if (n.dedupeKey !== null) {
          const existing = this.byDedupe.get(`${queue}\u0000${n.dedupeKey}`);
          if (existing && (existing.state !== 'done' || existing.runAt > now)) return String(existing.id);
          if (existing) this.remove(existing);
        }
        const row: Row = {
          id: this.nextId++,
          queue,
          state: 'pending',
          priority: n.priority,
          runAt: n.runAt,
          payload,
          attempts: 0,
          maxAttempts: n.maxAttempts,
          leaseToken: null,
          dedupeKey: n.dedupeKey,
          lastError: null,
          createdAt: now,
          deadAt: null,
        };
        this.rows.set(row.id, row);
        if (row.dedupeKey !== null) this.byDedupe.set(`${queue}\u0000${row.dedupeKey}`, row);
        return String(row.id);
      });
      this.waitList.notify(queue);
      return ids;
    });
  }

  async lease<P extends JsonValue = JsonValue>(queue: string, options: LeaseOptions = {}): Promise<LeasedJob<P>[]> {
    checkQueueName(queue);
    const { max, visibilityMs, waitMs } = normaliseLease(options);
    return await longPoll<LeasedJob<P>>({
      queue,
      waitMs,
      signal: options.signal,
      waitList: this.waitList,
      clock: this.clock,
      isClosed: () => this.closed,
      crossProcessMs: Infinity,
      attempt: () => this.run(() => this.leaseNow<P>(queue, max, visibilityMs)),
    });
  }

  private leaseNow<P extends JsonValue>(queue: string, max: number, visibilityMs: number) {
    const now = this.clock.now();
    const pending = [...this.rows.values()].filter((r) => r.queue === queue && r.state === 'pending');
    const due = pending
      .filter((r) => r.runAt <= now)
      .sort((a, b) => a.priority - b.priority || a.runAt - b.runAt || a.id - b.id);
    const jobs: LeasedJob<P>[] = [];
    const token = nextLeaseToken();
    for (const row of due) {
      if (jobs.length >= max) break;
      if (row.attempts >= row.maxAttempts) {
        this.kill(row, row.lastError ?? `lease expired on attempt ${row.attempts} of ${row.maxAttempts}`, now);
        continue;
      }
      row.attempts += 1;
      row.leaseToken = token;
      row.runAt = now + visibilityMs;
      jobs.push(this.leased<P>(row));
    }
    const later = pending.filter((r) => r.state === 'pending' && r.runAt > now).map((r) => r.runAt);
    return { jobs, nextDueAt: later.length > 0 ? Math.min(...later) : undefined };
  }

  extend<P extends JsonValue>(job: LeasedJob<P>, ms: number): Promise<LeasedJob<P>> {
    return this.run(() => {
      if (!(ms >= 1) || !Number.isFinite(ms)) throw new QueueUsageError(`extend needs ms ≥ 1, got ${ms}`);
      const row = this.held(job);
      row.runAt = this.clock.now() + Math.round(ms);
      return this.leased<P>(row);
    });
  }

  ack(job: LeasedJob): Promise<void> {
    return this.run(() => {
      const row = this.held(job, true);
      if (row.dedupeKey !== null && this.dedupeWindowMs > 0) {
        Object.assign(row, { state: 'done', runAt: this.clock.now() + this.dedupeWindowMs, leaseToken: null, payload: 'null' });
      } else {
        this.remove(row);
      }
    });
  }

  nack(job: LeasedJob, options: NackOptions = {}): Promise<NackOutcome> {
    return this.run(() => {
      const row = this.held(job);
      const now = this.clock.now();
      const error = options.error ?? null;
      if (options.retryable === false || row.attempts >= row.maxAttempts) {
        this.kill(row, error ?? (options.retryable === false ? 'permanent failure' : 'max attempts reached'), now);
        return { kind: 'dead' as const };
      }
      const delay = options.delayMs ?? this.backoff.delay(row.attempts, 0);
      Object.assign(row, { runAt: now + Math.max(0, Math.round(delay)), leaseToken: null, lastError: error });
      this.waitList.notify(row.queue);
      return { kind: 'retry' as const, runAt: row.runAt };
    });
  }

  async deadLetters<P extends JsonValue = JsonValue>(queue: string, options: { limit?: number; cursor?: string } = {}): Promise<Page<DeadJob<P>>> {
    return await this.run(() => {
      const limit = options.limit ?? 100;
      const after = options.cursor === undefined ? 0 : decodeCursor(options.cursor);
      const dead = [...this.rows.values()]
        .filter((r) => r.queue === queue && r.state === 'dead' && r.id > after)
        .sort((a, b) => a.id - b.id);
      const items = dead.slice(0, limit).map((r) => ({
        id: String(r.id),
        queue: r.queue,
        payload: JSON.parse(r.payload) as P,
        attempts: r.attempts,
        lastError: r.lastError,
        deadAt: r.deadAt ?? 0,
        createdAt: r.createdAt,
      }));
      const last = items.at(-1);
      return { items, nextCursor: dead.length > limit && last ? encodeCursor(Number(last.id)) : undefined };
    });
  }

  retryDead(queue: string, id: string): Promise<boolean> {
    return this.run(() => {
      const row = this.rows.get(Number(id));
      if (!row || row.queue !== queue || row.state !== 'dead') return false;
      Object.assign(row, { state: 'pending', attempts: 0, runAt: this.clock.now(), leaseToken: null, deadAt: null });
      this.waitList.notify(queue);
      return true;
    });
  }

  countDead(queue: string): Promise<number> {
    return this.stats(queue).then((s) => s.dead);
  }

  stats(queue: string): Promise<QueueStats> {
    return this.run(() => {
      const now = this.clock.now();
      const stats: QueueStats = { ready: 0, delayed: 0, leased: 0, dead: 0 };
      for (const r of this.rows.values()) {
        if (r.queue !== queue) continue;
        if (r.state === 'dead') stats.dead += 1;
        else if (r.state !== 'pending') continue;
        else if (r.runAt <= now) stats.ready += 1;
        else if (r.leaseToken !== null) stats.leased += 1;
        else stats.delayed += 1;
      }
      return stats;
    });
  }

  close(): Promise<void> {
    this.closed = true;
    this.waitList.close();
    return Promise.resolve();
  }

  /** The row if `job`'s token still holds it (a dead-lettered row too when `orDead`, so a late ack can clear it). */
  private held(job: LeasedJob, orDead = false): Row {
    const row = this.rows.get(Number(job.id));
    const live = row && row.queue === job.queue && row.leaseToken === job.leaseToken;
    if (!row || !live || !(row.state === 'pending' || (orDead && row.state === 'dead'))) {
      throw new LeaseLostError(job.queue, job.id);
    }
    return row;
  }

  private leased<P extends JsonValue>(row: Row): LeasedJob<P> {
    return {
      id: String(row.id),
      queue: row.queue,
      payload: JSON.parse(row.payload) as P,
      attempt: row.attempts,
      maxAttempts: row.maxAttempts,
      priority: row.priority,
      leaseToken: row.leaseToken as string,
      leaseExpiresAt: row.runAt,
      createdAt: row.createdAt,
    };
  }

  private kill(row: Row, error: string, now: number): void {
    Object.assign(row, { state: 'dead', lastError: error, deadAt: now });
  }

  private remove(row: Row): void {
    this.rows.delete(row.id);
    if (row.dedupeKey !== null) this.byDedupe.delete(`${row.queue}\u0000${row.dedupeKey}`);
  }

  private run<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
}

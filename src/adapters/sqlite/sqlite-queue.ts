import type SqliteDatabase from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { systemClock, type Clock } from '../../platform/clock.js';
import type { Backoff } from '../../platform/resilience/backoff.js';
import { LeaseLostError, QueueUsageError } from '../../platform/queue/errors.js';
import { longPoll, type Attempt } from '../../platform/queue/long-poll.js';
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
import type { Database } from '../sql/schema.js';
import { CrossProcessWatch } from './cross-process-watch.js';
import { GroupCommit } from './group-commit.js';
import { queueStatements, type JobRow, type QueueStatements } from './sqlite-queue-statements.js';

export interface SqliteQueueOptions extends QueueAdapterOptions {
  /**
   * How often a waiting lease checks `PRAGMA data_version` for commits of OTHER processes on
   * the same file (this process's enqueues wake it at once); see CrossProcessWatch. Default
   * 4 ms; 0 turns the watch off (then only crossProcessPollMs finds such jobs).
   */
  dataVersionWatchMs?: number;
  /**
   * Longest a waiting lease sleeps before looking again regardless (a backstop behind the
   * data_version watch). Default 5000 ms.
   */
  crossProcessPollMs?: number;
  /** Share the connection's group commit with other writers on it (the delivery ledger). */
  groupCommit?: GroupCommit;
}

/**
 * The Queue port on SQLite (the embedded default), through raw prepared statements on the
 * connection under Kysely. Every write runs in an IMMEDIATE transaction (writes of the same
 * event-loop turn share one: see GroupCommit), so processes sharing the file serialise on
 * SQLite's write lock and never lease the same job twice. Leases are rows
 * (`run_at` = lease expiry), so they survive restarts: a lease that expired while the process
 * was down is simply due again.
 *
 * "Next due by priority" is one index range seek per distinct pending priority on
 * (queue, state, priority, run_at, id): jobs that are delayed or leased at a high priority
 * are skipped by the seek, not scanned.
 */
export class SqliteQueue implements Queue {
  private readonly s: QueueStatements;
  private readonly writes: GroupCommit;
  private readonly waitList = new WaitList();
  private readonly clock: Clock;
  private readonly backoff: Backoff;
  private readonly maxAttempts: number;
  private readonly dedupeWindowMs: number;
  private readonly crossProcessMs: number;
  private readonly watch: CrossProcessWatch | undefined;
  private closed = false;
  private acksSincePurge = 0;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly raw: SqliteDatabase.Database,
    options: SqliteQueueOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.backoff = options.backoff ?? defaultQueueBackoff();
    this.maxAttempts = options.maxAttempts ?? QUEUE_DEFAULTS.maxAttempts;
    this.dedupeWindowMs = options.dedupeWindowMs ?? 0;
    this.crossProcessMs = options.crossProcessPollMs ?? 5000;
    this.s = queueStatements(raw);
    this.writes = options.groupCommit ?? new GroupCommit(db, raw);
    const watchMs = options.dataVersionWatchMs ?? 4;
    this.watch = watchMs > 0 ? new CrossProcessWatch(raw, this.s, this.waitList, this.clock, watchMs) : undefined;
  }

  enqueue<P extends JsonValue>(queue: string, payload: P, options?: EnqueueOptions): Promise<string> {
    return this.enqueueBatch(queue, [{ payload, ...(options ? { options } : {}) }]).then((ids) => ids[0] as string);
  }

  async enqueueBatch<P extends JsonValue>(queue: string, items: readonly EnqueueItem<P>[]): Promise<string[]> {
    checkQueueName(queue);
    const prepared = items.map((item) => ({
      payload: encodePayload(item.payload),
      n: normaliseEnqueue(item.options, this.clock, this.maxAttempts),
    }));
    const ids = await this.run(() => {
      const now = this.clock.now();
      return prepared.map(({ payload, n }) => {
        if (n.dedupeKey !== null) {
          const existing = this.s.byDedupe.get(queue, n.dedupeKey);
          if (existing && (existing.state !== 'done' || existing.run_at > now)) return String(existing.id);
          if (existing) this.s.remove.run(existing.id);
        }
        const { lastInsertRowid } = this.s.insert.run(queue, n.priority, n.runAt, payload, n.maxAttempts, n.dedupeKey, now);
        return String(lastInsertRowid);
      });
    });
    this.waitList.notify(queue);
    return ids;
  }

  async lease<P extends JsonValue = JsonValue>(queue: string, options: LeaseOptions = {}): Promise<LeasedJob<P>[]> {
    checkQueueName(queue);
    const { max, visibilityMs, waitMs } = normaliseLease(options);
    const watch = waitMs > 0 && !this.closed ? this.watch : undefined;
    watch?.enter(queue);
    try {
      return await this.longPoll<P>(queue, max, visibilityMs, waitMs, options.signal);
    } finally {
      watch?.leave(queue);
    }
  }

  private longPoll<P extends JsonValue>(queue: string, max: number, visibilityMs: number, waitMs: number, signal: AbortSignal | undefined): Promise<LeasedJob<P>[]> {
    return longPoll<LeasedJob<P>>({
      queue,
      waitMs,
      signal,
      waitList: this.waitList,
      clock: this.clock,
      isClosed: () => this.closed,
      crossProcessMs: this.crossProcessMs,
      attempt: (withNextDue) => this.run(() => this.leaseNow<P>(queue, max, visibilityMs, withNextDue)),
    });
  }

  /** Runs inside one IMMEDIATE transaction. */
  private leaseNow<P extends JsonValue>(queue: string, max: number, visibilityMs: number, withNextDue: boolean): Attempt<LeasedJob<P>> {
    const now = this.clock.now();
    const token = nextLeaseToken();
    const jobs: LeasedJob<P>[] = [];
    let nextDueAt: number | undefined;
    let priority = 0;
    for (;;) {
      const next = this.s.nextPriority.get(queue, priority);
      if (!next) break;
      priority = next.priority;
      if (jobs.length < max) {
        for (const row of this.s.dueAt.all(queue, priority, now, max - jobs.length)) {
          if (row.attempts >= row.max_attempts) {
            // Its last lease expired: the worker died or hung. Dead, keeping the token so a
            // late ack from that worker still clears it.
            this.s.kill.run(row.last_error ?? `lease expired on attempt ${row.attempts} of ${row.max_attempts}`, now, row.id);
            continue;
          }
          const taken = this.s.take.get(token, now + visibilityMs, row.id) as JobRow;
          jobs.push(toLeased<P>(taken));
        }
      }
      if (jobs.length > 0) {
        if (jobs.length >= max) break;
      } else if (withNextDue) {
        const min = this.s.minRunAt.get(queue, priority)?.m;
        if (min !== undefined && min !== null && min > now && (nextDueAt === undefined || min < nextDueAt)) nextDueAt = min;
      }
    }
    return { jobs, nextDueAt };
  }

  async extend<P extends JsonValue>(job: LeasedJob<P>, ms: number): Promise<LeasedJob<P>> {
    if (!(ms >= 1) || !Number.isFinite(ms)) throw new QueueUsageError(`extend needs ms ≥ 1, got ${ms}`);
    const until = await this.run(() => {
      const until = this.clock.now() + Math.round(ms);
      if (this.s.extend.run(until, Number(job.id), job.leaseToken).changes === 0) throw new LeaseLostError(job.queue, job.id);
      return until;
    });
    return { ...job, leaseExpiresAt: until };
  }

  ack(job: LeasedJob): Promise<void> {
    return this.run(() => {
      const id = Number(job.id);
      const now = this.clock.now();
      const kept = this.dedupeWindowMs > 0 && this.s.ackKeep.run(now + this.dedupeWindowMs, id, job.leaseToken).changes > 0;
      if (!kept && this.s.ack.run(id, job.leaseToken).changes === 0) throw new LeaseLostError(job.queue, job.id);
      if (this.dedupeWindowMs > 0 && ++this.acksSincePurge >= 1000) {
        this.acksSincePurge = 0;
        this.s.purgeDone.run(now);
      }
    });
  }

  async nack(job: LeasedJob, options: NackOptions = {}): Promise<NackOutcome> {
    const outcome = await this.run((): NackOutcome => {
      const id = Number(job.id);
      const row = this.s.held.get(id, job.leaseToken);
      if (!row) throw new LeaseLostError(job.queue, job.id);
      const now = this.clock.now();
      const error = options.error ?? null;
      if (options.retryable === false || row.attempts >= row.max_attempts) {
        this.s.kill.run(error ?? (options.retryable === false ? 'permanent failure' : 'max attempts reached'), now, id);
        return { kind: 'dead' };
      }
      const runAt = now + Math.max(0, Math.round(options.delayMs ?? this.backoff.delay(row.attempts, 0)));
      this.s.retry.run(runAt, error, id);
      return { kind: 'retry', runAt };
    });
    if (outcome.kind === 'retry') this.waitList.notify(job.queue);
    return outcome;
  }

  async deadLetters<P extends JsonValue = JsonValue>(queue: string, options: { limit?: number; cursor?: string } = {}): Promise<Page<DeadJob<P>>> {
    const limit = options.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new QueueUsageError(`limit must be 1..1000, got ${limit}`);
    const after = options.cursor === undefined ? 0 : decodeCursor(options.cursor);
    return await this.run(() => {
      const rows = this.s.dead.all(queue, after, limit + 1);
      const items = rows.slice(0, limit).map((r) => ({
        id: String(r.id),
        queue: r.queue,
        payload: JSON.parse(r.payload) as P,
        attempts: r.attempts,
        lastError: r.last_error,
        deadAt: r.dead_at ?? 0,
        createdAt: r.created_at,
      }));
      const last = items.at(-1);
      return { items, nextCursor: rows.length > limit && last ? encodeCursor(Number(last.id)) : undefined };
    }, false);
  }

  async retryDead(queue: string, id: string): Promise<boolean> {
    const n = Number(id);
    if (!Number.isSafeInteger(n)) return false;
    const done = await this.run(() => this.s.revive.run(this.clock.now(), n, queue).changes > 0);
    if (done) this.waitList.notify(queue);
    return done;
  }

  countDead(queue: string): Promise<number> {
    return this.run(() => this.s.countDead.get(queue)?.n ?? 0, false);
  }

  stats(queue: string): Promise<QueueStats> {
    return this.run(() => {
      const now = this.clock.now();
      const p = this.s.pendingStats.get(now, now, now, queue);
      return { ready: p?.ready ?? 0, delayed: p?.delayed ?? 0, leased: p?.leased ?? 0, dead: this.s.countDead.get(queue)?.n ?? 0 };
    }, false);
  }

  close(): Promise<void> {
    this.closed = true;
    this.watch?.stop();
    this.waitList.close();
    return Promise.resolve();
  }

  /**
   * Writes go through group commit (one IMMEDIATE transaction per event-loop turn, a savepoint
   * per call); reads run on Kysely's connection, so they never land inside a Kysely
   * transaction that is awaiting something.
   */
  private async run<T>(fn: () => T, write = true): Promise<T> {
    if (write) return this.writes.run(fn);
    let result: T | undefined;
    await this.db.connection().execute(async () => {
      if (this.raw.inTransaction) throw new Error('SqliteQueue: the connection is already in a transaction');
      result = fn();
    });
    return result as T;
  }
}

function toLeased<P extends JsonValue>(row: JobRow): LeasedJob<P> {
  return {
    id: String(row.id),
    queue: row.queue,
    payload: JSON.parse(row.payload) as P,
    attempt: row.attempts,
    maxAttempts: row.max_attempts,
    priority: row.priority,
    leaseToken: row.lease_token as string,
    leaseExpiresAt: row.run_at,
    createdAt: row.created_at,
  };
}

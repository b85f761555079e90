import type SqliteDatabase from 'better-sqlite3';
import type { Clock } from '../../platform/clock.js';
import type { WaitList } from '../../platform/queue/wait-list.js';
import type { QueueStatements } from './sqlite-queue-statements.js';

/**
 * How a waiting lease on SQLite finds jobs that OTHER processes enqueued (enqueues of this
 * process wake it through the WaitList at once). While at least one lease is waiting, one timer
 * per queue object reads `PRAGMA data_version` every `intervalMs`: it changes only when another
 * connection has committed to the file, and costs about a microsecond (no I/O: it reads the WAL
 * index in shared memory). Only when it changed does the watch look at the waited queues, with
 * read-only index seeks (one per distinct pending priority), for their earliest `run_at`: due now
 * wakes the queue's waiters; due later is remembered and woken when its time comes (a delayed
 * job, or a lease taken by another process that may expire). So a job from another process is
 * leased a few ms after its commit, and a quiet or unrelated database costs one pragma a tick.
 */
export class CrossProcessWatch {
  private readonly dataVersion: SqliteDatabase.Statement<[], number>;
  private lastVersion: number;
  /** Waiting leases per queue. */
  private readonly waiting = new Map<string, number>();
  /** Earliest run_at seen in a queue since the last outside commit, not yet due. */
  private readonly dueAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /** Outside commits noticed, wakes they caused, ticks whose reads failed (for tests and stats). */
  readonly stats = { changes: 0, wakes: 0, errors: 0 };

  constructor(
    private readonly raw: SqliteDatabase.Database,
    private readonly s: QueueStatements,
    private readonly waitList: WaitList,
    private readonly clock: Clock,
    private readonly intervalMs: number,
  ) {
    this.dataVersion = raw.prepare('PRAGMA data_version').pluck() as SqliteDatabase.Statement<[], number>;
    this.lastVersion = this.dataVersion.get() as number;
  }

  /** A lease starts waiting on `queue` (call before its first attempt). */
  enter(queue: string): void {
    this.waiting.set(queue, (this.waiting.get(queue) ?? 0) + 1);
    if (this.timer) return;
    // Anything committed elsewhere from here on is noticed; what came before, the attempt sees.
    this.lastVersion = this.dataVersion.get() as number;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  leave(queue: string): void {
    const n = (this.waiting.get(queue) ?? 1) - 1;
    if (n > 0) {
      this.waiting.set(queue, n);
      return;
    }
    this.waiting.delete(queue);
    this.dueAt.delete(queue);
    if (this.waiting.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    // Inside a transaction of this connection the reads would see its snapshot: next tick.
    if (!this.raw.open || this.raw.inTransaction) return;
    try {
      this.look();
    } catch {
      // A read refused for a moment (SQLITE_BUSY while another process recovers the WAL after a
      // crash): the version is not taken, so the next tick looks again; waiters lose nothing.
      this.stats.errors += 1;
    }
  }

  private look(): void {
    const version = this.dataVersion.get() as number;
    const changed = version !== this.lastVersion;
    if (!changed && this.dueAt.size === 0) return;
    const now = this.clock.now();
    // Read every waited queue first: if one read fails, nothing is taken and all are read again.
    const earliest = changed ? new Map([...this.waiting.keys()].map((q) => [q, this.earliest(q)])) : undefined;
    if (changed) {
      this.lastVersion = version;
      this.stats.changes += 1;
    }
    for (const queue of this.waiting.keys()) {
      let due = this.dueAt.get(queue);
      if (earliest) due = earliest.get(queue);
      if (due !== undefined && due <= now) {
        this.dueAt.delete(queue);
        this.stats.wakes += 1;
        this.waitList.notify(queue);
      } else if (due !== undefined) {
        this.dueAt.set(queue, due);
      } else {
        this.dueAt.delete(queue);
      }
    }
  }

  /** The earliest run_at of the queue's pending jobs (ready, delayed or leased), or undefined. */
  private earliest(queue: string): number | undefined {
    let min: number | undefined;
    let priority = 0;
    for (;;) {
      const next = this.s.nextPriority.get(queue, priority);
      if (!next) return min;
      priority = next.priority;
      const m = this.s.minRunAt.get(queue, priority)?.m;
      if (m !== undefined && m !== null && (min === undefined || m < min)) min = m;
    }
  }
}

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { IntervalTimers } from '../platform/cache/write-behind-buffer.js';
import type { Clock } from '../platform/clock.js';
import type { ClickBatch, LinkStats } from './clicks.js';
import { PendingClicks } from './pending-clicks.js';
import type { ClickRepository } from './ports.js';

/** How far a compaction got: journal ids ≤ upto are being folded in; links ≤ doneLinkId are. */
export interface CompactionProgress {
  upto: number;
  doneLinkId: number;
}

/** Thrown by a journal write when this process no longer owns the journal. */
export class JournalLeaseLost extends Error {
  constructor() {
    super('another process owns the click journal now');
    this.name = 'JournalLeaseLost';
  }
}

/**
 * Where click batches wait to be compacted (ADR 6). Writes that change what has been applied
 * (`append`, `applyPart`, `finish`) check the lease in the same transaction and throw
 * JournalLeaseLost when `owner` does not hold it, so two processes can never apply one batch.
 */
export interface ClickJournal {
  /**
   * Takes or renews the lease until now + ttlMs; false when another owner holds a lease that
   * has not expired, unless `holderIsGone(holder)` says that owner no longer exists.
   */
  acquire(owner: string, ttlMs: number, holderIsGone?: (holder: string) => boolean): Promise<boolean>;
  release(owner: string): Promise<void>;
  /** Appends a batch durably; returns its journal id (ids only grow). */
  append(owner: string, batch: ClickBatch): Promise<number>;
  /** The interrupted compaction, if one was running when its process died. */
  progress(): Promise<CompactionProgress | undefined>;
  /** Calls `visit` with every batch with afterId < id ≤ uptoId, in id order; returns the last id seen (or afterId). */
  forEach(afterId: number, uptoId: number, visit: (batch: ClickBatch) => void): Promise<number>;
  /** Adds a part to rollups and counts and records `progress`, in one transaction. */
  applyPart(owner: string, part: ClickBatch, progress: CompactionProgress): Promise<void>;
  /** Deletes the journal up to `upto` and the progress record, in one transaction. */
  finish(owner: string, upto: number): Promise<void>;
}

export interface JournaledClicksOptions {
  /** Compaction runs this often… */
  compactIntervalMs: number;
  /** …or as soon as this many distinct rollup rows are pending. */
  compactMaxRows: number;
  /** Rows per compaction transaction; requests run between transactions. */
  partRows: number;
  /** Lease lifetime; renewed every third of it. */
  leaseTtlMs: number;
  /**
   * Whether the process that holds the lease is gone, so a restart after a crash need not
   * wait for the lease to expire. Default: the holder ran on this host and its pid is dead.
   */
  holderIsGone?(holder: string): boolean;
  onError?(err: unknown): void;
  /** Called once when the journal cannot be used (another process owns it, or the lease was lost). */
  onDirect?(reason: string): void;
  timers?: IntervalTimers;
}

const nodeTimers: IntervalTimers = {
  setInterval(fn, ms) {
    const handle = setInterval(fn, ms);
    handle.unref();
    return handle;
  },
  clearInterval(handle) {
    clearInterval(handle as ReturnType<typeof setInterval>);
  },
};

/**
 * Click writes through a journal (ADR 6). `addClicks` appends the batch to the journal — one
 * sequential insert, as durable as a direct write — and merges it in memory; compaction
 * folds what is pending into rollups and counts every compactIntervalMs, when even a uniform
 * mix of keys repeats, in bounded transactions that record their progress. A crash loses
 * nothing the journal holds: `start()` finishes an interrupted compaction from its progress
 * record and compacts the rest, and nothing is applied twice. Reads add what is pending, so
 * stats and counts do not lag.
 *
 * One process owns the journal (a lease in the database). Another process on the same
 * database — or this one after losing the lease — writes through `direct` instead.
 */
export class JournaledClickRepository implements ClickRepository {
  /** host/pid/random: unique, and says which process to check for liveness. */
  private readonly owner = `${hostname()}/${process.pid}/${randomUUID()}`;
  private readonly timers: IntervalTimers;
  private mode: 'starting' | 'journal' | 'direct' | 'closed' = 'starting';
  private pending = new PendingClicks();
  /** The last journal id in `pending` (or in `compacting`). */
  private lastId = 0;
  /** The batch set being folded in, with its progress; kept after a failure to resume from it. */
  private compacting: { clicks: PendingClicks; progress: CompactionProgress } | undefined;
  private running: Promise<void> | undefined;
  /** Odd while a compaction part is being written (see consistentRead). */
  private epoch = 0;
  private lastCompaction = 0;
  private lastRenewal = 0;
  private timer: unknown;

  constructor(
    private readonly journal: ClickJournal,
    private readonly direct: ClickRepository,
    private readonly clock: Clock,
    private readonly options: JournaledClicksOptions,
  ) {
    this.timers = options.timers ?? nodeTimers;
  }

  /** Takes the lease and recovers what a previous process left in the journal. Call before use. */
  async start(): Promise<void> {
    if (!(await this.journal.acquire(this.owner, this.options.leaseTtlMs, this.options.holderIsGone ?? deadLocalProcess))) {
      this.goDirect('another process owns the click journal; clicks are written directly');
      return;
    }
    this.lastRenewal = this.clock.now();
    const interrupted = await this.journal.progress();
    if (interrupted) {
      const clicks = new PendingClicks();
      await this.journal.forEach(0, interrupted.upto, (b) => clicks.add(b));
      this.compacting = { clicks, progress: interrupted };
      await this.compactNow();
    }
    const leftover = new PendingClicks();
    const last = await this.journal.forEach(interrupted?.upto ?? 0, Number.MAX_SAFE_INTEGER, (b) => leftover.add(b));
    if (leftover.size > 0 || last > (interrupted?.upto ?? 0)) {
      this.pending = leftover;
      this.lastId = last;
      await this.compactNow();
    }
    this.lastCompaction = this.clock.now();
    this.mode = 'journal';
    const tick = Math.max(10, Math.min(this.options.compactIntervalMs, this.options.leaseTtlMs / 3));
    this.timer = this.timers.setInterval(() => void this.onTick(), tick);
  }

  async addClicks(batch: ClickBatch): Promise<void> {
    if (this.mode !== 'journal') return this.direct.addClicks(batch);
    // Bounded memory: while compaction cannot keep up (or fails), refuse; the write-behind
    // buffer keeps the clicks and retries, and drops new ones only when it is full itself.
    if (this.pending.size >= this.options.compactMaxRows * 2) {
      void this.compactNow().catch(() => undefined);
      throw new Error('click journal: compaction is behind; try again after it catches up');
    }
    try {
      const id = await this.journal.append(this.owner, batch);
      this.pending.add(batch);
      this.lastId = id;
    } catch (err) {
      if (err instanceof JournalLeaseLost) this.leaseLost();
      throw err;
    }
    if (this.pending.size >= this.options.compactMaxRows) void this.compactNow().catch(() => undefined);
  }

  stats(linkId: number, fromDay: string, toDay: string): Promise<Omit<LinkStats, 'from' | 'to'>> {
    return this.consistentRead(() => {
      const extra = this.pending.rowsOf(linkId, fromDay, toDay);
      if (this.compacting) {
        extra.push(...this.compacting.clicks.rowsOf(linkId, fromDay, toDay, this.compacting.progress.doneLinkId));
      }
      return this.direct.stats(linkId, fromDay, toDay, extra);
    });
  }

  /**
   * A seqlock: `epoch` is odd while a compaction part is being written, and changes when one
   * is done, so a read that saw it even and unchanged saw no part land — the stored rows and
   * the pending ones it added are disjoint and complete. Parts take milliseconds and yield to
   * the event loop between them, so a read waits at most about one part.
   */
  async consistentRead<T>(read: () => Promise<T>): Promise<T> {
    for (;;) {
      const start = this.epoch;
      if (start % 2 === 0) {
        const value = await read();
        if (this.epoch === start) return value;
      }
      await yieldToEventLoop();
    }
  }

  pendingCount(linkId: number): number {
    const c = this.compacting;
    return this.pending.count(linkId) + (c ? c.clicks.count(linkId, c.progress.doneLinkId) : 0);
  }

  /** Pending rollup rows (not counting a compaction in progress). */
  pendingRows(): number {
    return this.pending.size;
  }

  /**
   * Folds everything appended so far into rollups and counts. Joins a running compaction
   * instead of starting a second; after a failure the next call resumes where it stopped.
   */
  compactNow(): Promise<void> {
    this.running ??= this.compact().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Compacts everything appended so far (what a running compaction has not taken, too). */
  async settle(): Promise<void> {
    await this.compactNow();
    if (this.pending.size > 0 || this.lastId > 0) await this.compactNow();
  }

  async close(): Promise<void> {
    if (this.mode !== 'journal') {
      this.mode = 'closed';
      return;
    }
    this.timers.clearInterval(this.timer);
    try {
      await this.settle();
      await this.journal.release(this.owner);
    } finally {
      this.mode = 'closed';
    }
  }

  private async compact(): Promise<void> {
    if (this.mode === 'direct' || this.mode === 'closed') return;
    if (!this.compacting) {
      if (this.pending.size === 0 && this.lastId === 0) return;
      // Everything in `pending` is in the journal up to lastId, and nothing above it is.
      this.compacting = { clicks: this.pending, progress: { upto: this.lastId, doneLinkId: 0 } };
      this.pending = new PendingClicks();
      this.lastId = 0;
    }
    const current = this.compacting;
    try {
      for (const { batch, lastLinkId } of current.clicks.parts(this.options.partRows, current.progress.doneLinkId)) {
        const progress = { upto: current.progress.upto, doneLinkId: lastLinkId };
        this.epoch++;
        try {
          await this.journal.applyPart(this.owner, batch, progress);
          current.progress = progress;
        } finally {
          this.epoch++;
        }
        await yieldToEventLoop();
      }
      await this.journal.finish(this.owner, current.progress.upto);
      this.compacting = undefined;
      this.lastCompaction = this.clock.now();
    } catch (err) {
      if (err instanceof JournalLeaseLost) this.leaseLost();
      throw err;
    }
  }

  private async onTick(): Promise<void> {
    if (this.mode !== 'journal') return;
    const now = this.clock.now();
    try {
      if (now - this.lastRenewal >= this.options.leaseTtlMs / 3) {
        if (!(await this.journal.acquire(this.owner, this.options.leaseTtlMs))) {
          this.leaseLost();
          return;
        }
        this.lastRenewal = now;
      }
      if (now - this.lastCompaction >= this.options.compactIntervalMs || this.compacting) await this.compactNow();
    } catch (err) {
      this.options.onError?.(err);
    }
  }

  /**
   * Another process took the journal over (this one stalled past the lease). What is pending
   * here is in the journal, which the new owner (or the next to start) compacts; dropping it
   * here is what keeps it from being counted twice.
   */
  private leaseLost(): void {
    this.pending = new PendingClicks();
    this.compacting = undefined;
    this.lastId = 0;
    this.timers.clearInterval(this.timer);
    this.goDirect('the click journal lease was lost; clicks are written directly');
  }

  private goDirect(reason: string): void {
    this.mode = 'direct';
    this.options.onDirect?.(reason);
  }
}

/** True when `holder` (host/pid/…) ran on this host and no process with its pid exists. */
export function deadLocalProcess(holder: string): boolean {
  const [host, pidText] = holder.split('/');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0); // signal 0: only checks that the process exists
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

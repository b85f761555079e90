import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { IntervalTimers } from '../platform/cache/write-behind-buffer.js';
import type { Clock } from '../platform/clock.js';
import { ClickDimensioner, type ClickedLink, type ClickRecorder, type ClickSink, type ClickSinkStats } from './click-recorder.js';
import type { ClickAggregate, ClickBatch, LinkStats } from './clicks.js';
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
  /** New clicks are appended to the journal this often (the crash window)… */
  flushIntervalMs: number;
  /** …or as soon as this many links have new clicks. */
  flushMaxPending: number;
  /** Rows per append; requests run between appends. */
  appendRows: number;
  /** Compaction runs this often… */
  compactIntervalMs: number;
  /** …or as soon as this many distinct rollup rows are held; new rows beyond twice it are dropped. */
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
  /** A failed append or compaction (it is retried). */
  onError?(err: unknown): void;
  /** Clicks dropped since the last report because too many rows were held. */
  onDrop?(n: number): void;
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
 * Click counting through a journal (ADR 6), for SQLite. A redirect adds its click to an
 * in-memory accumulator (no I/O, no allocation once the row exists). Every flush interval the
 * clicks not yet journaled are appended to the journal — sequential inserts, as durable as a
 * direct write, so a crash loses at most one flush interval. Every compaction interval, when
 * even a uniform mix of keys repeats, what is journaled is folded into rollups and counts in
 * bounded transactions that record their progress. `start()` finishes an interrupted
 * compaction from its progress record and compacts what else the journal holds, so nothing is
 * lost or applied twice. Reads add what is pending, so stats and counts do not lag.
 *
 * One process owns the journal (a lease in the database). Another process on the same
 * database — or this one after losing the lease — counts through `fallback` instead.
 */
export class JournaledClickRepository implements ClickRepository, ClickSink {
  /** host/pid/random: unique, and says which process to check for liveness. */
  private readonly owner = `${hostname()}/${process.pid}/${randomUUID()}`;
  private readonly timers: IntervalTimers;
  private readonly dimensions = new ClickDimensioner();
  private mode: 'starting' | 'journal' | 'direct' | 'closed' = 'starting';
  private pending = new PendingClicks();
  /** The last journal id holding clicks of `pending` (0: none). */
  private lastId = 0;
  /** The clicks being folded in, with their progress; kept after a failure to resume from it. */
  private compacting: { clicks: PendingClicks; progress: CompactionProgress } | undefined;
  private compactRunning: Promise<void> | undefined;
  /** Appends and the compaction's swap run one at a time, in order. */
  private tail: Promise<void> = Promise.resolve();
  private flushQueued = false;
  /** Odd while a compaction part is being written (see consistentRead). */
  private epoch = 0;
  private lastCompaction = 0;
  private lastRenewal = 0;
  private lastFlush = 0;
  private timer: unknown;
  /** Compactions finished since start. */
  compactions = 0;
  private readonly counters = { flushed: 0, failedFlushes: 0, dropped: 0, droppedReported: 0 };

  constructor(
    private readonly journal: ClickJournal,
    private readonly direct: ClickRepository,
    private readonly fallback: ClickRecorder,
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
    this.mode = 'journal';
    const interrupted = await this.journal.progress();
    if (interrupted) {
      const clicks = new PendingClicks();
      await this.journal.forEach(0, interrupted.upto, (b) => clicks.addJournaled(b));
      this.compacting = { clicks, progress: interrupted };
      await this.compactNow();
    }
    this.lastId = await this.journal.forEach(interrupted?.upto ?? 0, Number.MAX_SAFE_INTEGER, (b) => this.pending.addJournaled(b));
    if (this.lastId === (interrupted?.upto ?? 0)) this.lastId = 0;
    if (this.lastId > 0) await this.compactNow();
    this.lastCompaction = this.lastFlush = this.clock.now();
    const tick = Math.max(10, Math.min(this.options.flushIntervalMs, this.options.leaseTtlMs / 3));
    this.timer = this.timers.setInterval(() => void this.onTick(), tick);
  }

  // ---- ClickSink: the redirect's side ----

  record(link: ClickedLink, referer: string | undefined, userAgent: string | undefined, now = this.clock.now()): void {
    if (this.mode !== 'journal') {
      this.fallback.record(link, referer, userAgent, now);
      return;
    }
    const d = this.dimensions.of(referer, userAgent, now);
    if (!this.pending.record(link.id, d, link.maxClicks === null, this.options.compactMaxRows * 2)) {
      this.counters.dropped++;
      void this.compactNow().catch(() => undefined);
      return;
    }
    if (this.pending.dirtyLinks >= this.options.flushMaxPending && !this.flushQueued) {
      this.flushQueued = true;
      void this.appendAll().catch(() => undefined);
    }
  }

  /** Writes every click recorded so far to rollups and counts. */
  async flush(): Promise<void> {
    if (this.mode !== 'journal') return this.fallback.flush();
    await this.settle();
  }

  bufferStats(): ClickSinkStats {
    if (this.mode === 'direct') return this.fallback.bufferStats();
    const { flushed, failedFlushes, dropped } = this.counters;
    return { pending: this.pending.dirtyLinks, flushed, failedFlushes, dropped };
  }

  // ---- ClickRepository: reads, and batches from elsewhere ----

  /** A batch counted elsewhere: journaled as it is (or written directly when not the owner). */
  async addClicks(batch: ClickBatch): Promise<void> {
    if (this.mode !== 'journal') return this.direct.addClicks(batch);
    await this.serial(async () => {
      try {
        this.lastId = await this.journal.append(this.owner, batch);
      } catch (err) {
        if (err instanceof JournalLeaseLost) this.leaseLost();
        throw err;
      }
      this.pending.addJournaled(batch);
    });
  }

  stats(linkId: number, fromDay: string, toDay: string): Promise<Omit<LinkStats, 'from' | 'to'>> {
    return this.consistentRead(() => {
      const extra: ClickAggregate[] = this.pending.rowsOf(linkId, fromDay, toDay);
      if (this.compacting) {
        extra.push(...this.compacting.clicks.rowsOf(linkId, fromDay, toDay, this.compacting.progress.doneLinkId));
      }
      return this.direct.stats(linkId, fromDay, toDay, extra);
    });
  }

  pendingCount(linkId: number): number {
    const c = this.compacting;
    return this.pending.count(linkId) + (c ? c.clicks.count(linkId, c.progress.doneLinkId) : 0);
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

  /** Distinct rollup rows held in memory, a compaction in progress included. */
  pendingRows(): number {
    return this.pending.size + (this.compacting?.clicks.size ?? 0);
  }

  /** Compacts everything recorded so far. */
  async settle(): Promise<void> {
    if (this.mode !== 'journal') return;
    await this.compactNow();
    // A compaction that was already running took only what was journaled when it started.
    if (this.pending.size > 0 || this.lastId > 0 || this.compacting) await this.compactNow();
  }

  /**
   * Appends what is not journaled, then folds everything journaled into rollups and counts.
   * Joins a running compaction instead of starting a second; after a failure the next call
   * resumes where it stopped.
   */
  compactNow(): Promise<void> {
    this.compactRunning ??= this.compact().finally(() => {
      this.compactRunning = undefined;
    });
    return this.compactRunning;
  }

  async close(): Promise<void> {
    if (this.mode === 'direct') {
      this.mode = 'closed';
      return this.fallback.close();
    }
    if (this.mode !== 'journal') return;
    this.timers.clearInterval(this.timer);
    try {
      await this.settle();
      await this.journal.release(this.owner);
    } finally {
      this.mode = 'closed';
      await this.fallback.close();
    }
  }

  // ---- internals ----

  /** Appends every click not yet journaled, in batches of appendRows, one at a time (no compaction). */
  journalNow(): Promise<void> {
    return this.appendAll();
  }

  private appendAll(): Promise<void> {
    return this.serial(async () => {
      this.flushQueued = false;
      this.lastFlush = this.clock.now();
      while (this.mode === 'journal' && this.pending.dirtyLinks > 0) {
        const delta = this.pending.takeDelta(this.options.appendRows);
        if (delta.batch.rollups.length === 0 && delta.batch.counts.size === 0) continue;
        try {
          this.lastId = await this.journal.append(this.owner, delta.batch);
          this.counters.flushed += delta.batch.rollups.length;
        } catch (err) {
          delta.rollback();
          this.counters.failedFlushes++;
          if (err instanceof JournalLeaseLost) this.leaseLost();
          throw err;
        }
        if (this.pending.dirtyLinks > 0) await yieldToEventLoop();
      }
    });
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async compact(): Promise<void> {
    if (this.mode !== 'journal') return;
    if (!this.compacting) {
      await this.appendAll().catch((err: unknown) => this.options.onError?.(err));
      if (this.mode !== 'journal') return;
      // Swap on the append chain, so no append is in flight: `pending` keeps exactly the
      // journaled clicks (ids ≤ lastId) and what is not journaled moves on.
      await this.serial(() => {
        if (this.pending.size > 0 || this.lastId > 0) {
          const rest = this.pending.splitUnjournaled();
          this.compacting = { clicks: this.pending, progress: { upto: this.lastId, doneLinkId: 0 } };
          this.pending = rest;
          this.lastId = 0;
        }
        return Promise.resolve();
      });
      if (!this.compacting) return;
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
      this.compactions++;
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
      const { dropped, droppedReported } = this.counters;
      if (dropped > droppedReported) {
        this.options.onDrop?.(dropped - droppedReported);
        this.counters.droppedReported = dropped;
      }
      if (now - this.lastFlush >= this.options.flushIntervalMs) await this.appendAll();
      const due = now - this.lastCompaction >= this.options.compactIntervalMs || this.pending.size >= this.options.compactMaxRows;
      if (due || this.compacting) await this.compactNow();
    } catch (err) {
      this.options.onError?.(err);
    }
  }

  /**
   * Another process took the journal over (this one stalled past the lease). What is
   * journaled is the new owner's to compact; dropping it here is what keeps it from being
   * counted twice. What is not journaled yet is written directly.
   */
  private leaseLost(): void {
    if (this.mode !== 'journal') return;
    const unjournaled = this.pending.splitUnjournaled().takeDelta().batch;
    this.pending = new PendingClicks();
    this.compacting = undefined;
    this.lastId = 0;
    this.timers.clearInterval(this.timer);
    this.goDirect('the click journal lease was lost; clicks are written directly');
    if (unjournaled.rollups.length > 0 || unjournaled.counts.size > 0) {
      void this.direct.addClicks(unjournaled).catch((err: unknown) => this.options.onError?.(err));
    }
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

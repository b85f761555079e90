import type { Clock } from '../platform/clock.js';
import { WriteBehindBuffer } from '../platform/cache/write-behind-buffer.js';
import { utcDay, type ClickAggregate, type ClickBatch, type ClickDimensions } from './clicks.js';
import type { Link } from './link.js';
import type { ClickRepository } from './ports.js';
import { classifyUserAgent, referrerHost } from './user-agent.js';

/** Where redirects count their clicks. */
export interface ClickSink {
  /**
   * Counts one click; `now` saves a clock read when the caller already has the time. No I/O.
   * `key` (the link's short key) is kept by sinks that route clicks by it (Redis, ADR 7).
   */
  record(link: ClickedLink, referer: string | undefined, userAgent: string | undefined, now?: number): void;
  /** Writes every click recorded so far to rollups and counts. */
  flush(): Promise<void>;
  bufferStats(): ClickSinkStats;
  close(): Promise<void>;
}

/** What a sink needs of the clicked link. */
export type ClickedLink = Pick<Link, 'id' | 'maxClicks'> & { key?: string };

export interface ClickSinkStats {
  /** Aggregates (or links) with clicks waiting for the next write. */
  pending: number;
  /** Aggregates written. */
  flushed: number;
  failedFlushes: number;
  /** Clicks refused because the buffer was full or closed. */
  dropped: number;
}

const DAY_MS = 86_400_000;

/** A click's dimensions from its request; the UTC day's name is formatted once per day. */
export class ClickDimensioner {
  private dayStart = 0;
  private dayEnd = 0;
  private dayName = '';

  of(referer: string | undefined, userAgent: string | undefined, now: number): ClickDimensions {
    const { browser, os, bot } = classifyUserAgent(userAgent);
    return { day: this.today(now), referrer: referrerHost(referer), browser, os, bot };
  }

  private today(now: number): string {
    if (now < this.dayStart || now >= this.dayEnd) {
      this.dayStart = Math.floor(now / DAY_MS) * DAY_MS; // UTC days are exactly DAY_MS long in JS time
      this.dayEnd = this.dayStart + DAY_MS;
      this.dayName = utcDay(now);
    }
    return this.dayName;
  }
}

interface PendingClick extends ClickAggregate {
  /** false for links with max_clicks: their running count was already taken atomically. */
  addToCount: boolean;
  /** The link's key when known: a sharded repository routes by it (links move between shards). */
  key?: string;
}

export interface ClickRecorderOptions {
  intervalMs: number;
  maxPending: number;
  maxBuffered: number;
  /** Aggregates per write transaction (see WriteBehindBuffer.maxBatch). */
  maxBatch?: number;
  onError?: (err: unknown) => void;
  onDrop?: (n: number) => void;
}

/**
 * Clicks are counted write-behind: a redirect only adds to an in-memory aggregate; the
 * aggregates go to the database in one transaction every interval, or sooner when many are
 * pending, and on shutdown. A crash (kill -9) loses at most the clicks of one flush window.
 */
export class ClickRecorder implements ClickSink {
  private readonly buffer: WriteBehindBuffer<string, PendingClick>;
  private readonly dimensions = new ClickDimensioner();

  constructor(
    private readonly repo: ClickRepository,
    private readonly clock: Clock,
    options: ClickRecorderOptions,
  ) {
    this.buffer = new WriteBehindBuffer<string, PendingClick>({
      merge: (a, b) => {
        a.clicks += b.clicks;
        return a;
      },
      flush: (entries) => this.repo.addClicks(toBatch(entries)),
      intervalMs: options.intervalMs,
      maxPending: options.maxPending,
      maxBuffered: options.maxBuffered,
      maxBatch: options.maxBatch,
      onError: options.onError,
      onDrop: options.onDrop,
    });
  }

  /** Counts one click; `now` saves a clock read when the caller already has the time. */
  record(link: ClickedLink, referer: string | undefined, userAgent: string | undefined, now = this.clock.now()): void {
    const { day, referrer, browser, os, bot } = this.dimensions.of(referer, userAgent, now);
    const addToCount = link.maxClicks === null;
    this.buffer.add(aggregateKey(link.id, day, referrer, browser, os, bot, addToCount), {
      linkId: link.id,
      day,
      referrer,
      browser,
      os,
      bot,
      clicks: 1,
      addToCount,
      ...(link.key !== undefined ? { key: link.key } : {}),
    });
  }

  /** Counts clicks already aggregated elsewhere (e.g. ones Redis refused). */
  add(a: ClickAggregate, addToCount: boolean): void {
    this.buffer.add(aggregateKey(a.linkId, a.day, a.referrer, a.browser, a.os, a.bot, addToCount), { ...a, addToCount });
  }

  /** Writes every click recorded so far to rollups and counts. */
  async flush(): Promise<void> {
    await this.buffer.flushNow();
    await this.repo.settle();
  }

  bufferStats(): ClickSinkStats {
    return this.buffer.stats();
  }

  close(): Promise<void> {
    return this.buffer.close();
  }
}

function aggregateKey(linkId: number, day: string, referrer: string, browser: string, os: string, bot: boolean, addToCount: boolean): string {
  return `${linkId}\u0000${day}\u0000${referrer}\u0000${browser}\u0000${os}\u0000${bot ? 1 : 0}\u0000${addToCount ? 1 : 0}`;
}

function toBatch(entries: Map<string, PendingClick>): ClickBatch & { keys: Map<number, string> } {
  // One rollup row per dimension tuple: entries differing only in addToCount (a link whose
  // max_clicks changed mid-window) merge here, since one upsert may not touch a row twice.
  const rollups = new Map<string, ClickAggregate>();
  const counts = new Map<number, number>();
  const keys = new Map<number, string>();
  for (const e of entries.values()) {
    if (e.key !== undefined) keys.set(e.linkId, e.key);
    const key = `${e.linkId}\u0000${e.day}\u0000${e.referrer}\u0000${e.browser}\u0000${e.os}\u0000${e.bot ? 1 : 0}`;
    const row = rollups.get(key);
    if (row) row.clicks += e.clicks;
    else rollups.set(key, { linkId: e.linkId, day: e.day, referrer: e.referrer, browser: e.browser, os: e.os, bot: e.bot, clicks: e.clicks });
    if (e.addToCount) counts.set(e.linkId, (counts.get(e.linkId) ?? 0) + e.clicks);
  }
  return { rollups: [...rollups.values()], counts, keys };
}

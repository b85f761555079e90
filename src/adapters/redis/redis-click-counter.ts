import type { Redis } from 'ioredis';
import type { Clock } from '../../platform/clock.js';
import { ClickDimensioner, type ClickedLink, type ClickRecorder, type ClickSink, type ClickSinkStats } from '../../shortener/click-recorder.js';
import { clickField, decodeClickField } from './click-fields.js';

export interface RedisClickCounterOptions {
  /** Key prefix; the pending hash is `<prefix>pending` (ADR 7). */
  prefix: string;
  /**
   * Pipelines awaiting Redis's reply beyond which new clicks go to the local fallback instead:
   * a slow or hung Redis then costs redirects nothing and holds at most this many batches.
   */
  maxInFlight: number;
  /** Failures are reported at most once per this many ms (with how many since the last report). */
  reportIntervalMs: number;
  /** A batch Redis did not take (its clicks went to the fallback). */
  onFailure?: (err: unknown, failuresSinceLastReport: number) => void;
}

export interface RedisClickCounterStats extends ClickSinkStats {
  /** Clicks Redis acknowledged. */
  sentClicks: number;
  /** Batches Redis refused or that did not get an answer. */
  redisFailures: number;
  /** Clicks counted by the local fallback instead of Redis. */
  fallbackClicks: number;
}

/**
 * Scale-out click counting (ADR 7): a redirect adds its click to a per-turn map; once per event
 * loop turn one pipeline of HINCRBY on the pending hash carries them all to Redis. Nothing on
 * the redirect path waits for Redis. When Redis refuses a batch, does not answer, or too many
 * batches are awaiting replies, the clicks go to `fallback` (the embedded write-behind
 * recorder, writing to the database directly), so an outage loses no click and slows nothing.
 */
export class RedisClickCounter implements ClickSink {
  private readonly pendingKey: string;
  private readonly dimensions = new ClickDimensioner();
  private batch = new Map<string, number>();
  private scheduled = false;
  private closed = false;
  private readonly flights = new Set<Promise<void>>();
  private lastReport = -Infinity;
  private unreported = 0;
  private readonly counters = { sentClicks: 0, sentFields: 0, redisFailures: 0, fallbackClicks: 0 };

  constructor(
    private readonly redis: Pick<Redis, 'pipeline' | 'status'>,
    private readonly fallback: ClickRecorder,
    private readonly clock: Clock,
    private readonly options: RedisClickCounterOptions,
  ) {
    this.pendingKey = `${options.prefix}pending`;
  }

  record(link: ClickedLink, referer: string | undefined, userAgent: string | undefined, now = this.clock.now()): void {
    if (this.closed) {
      this.fallback.record(link, referer, userAgent, now);
      return;
    }
    const d = this.dimensions.of(referer, userAgent, now);
    const field = clickField(link.id, link.key ?? '', d.day, d.browser, d.os, d.bot, link.maxClicks === null, d.referrer);
    this.batch.set(field, (this.batch.get(field) ?? 0) + 1);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.send);
    }
  }

  /** Sends what is batched and waits for Redis's answers; then flushes the fallback. */
  async flush(): Promise<void> {
    this.send();
    await Promise.all([...this.flights]);
    await this.fallback.flush();
  }

  bufferStats(): RedisClickCounterStats {
    const local = this.fallback.bufferStats();
    return {
      pending: this.batch.size + local.pending,
      flushed: this.counters.sentFields + local.flushed,
      failedFlushes: this.counters.redisFailures + local.failedFlushes,
      dropped: local.dropped,
      ...this.counters,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.send();
    this.closed = true;
    await Promise.all([...this.flights]);
    await this.fallback.close();
  }

  private readonly send = (): void => {
    this.scheduled = false;
    if (this.batch.size === 0) return;
    const batch = this.batch;
    this.batch = new Map();
    if (this.flights.size >= this.options.maxInFlight) {
      this.failed(batch, new Error(`${this.flights.size} click batches are awaiting Redis; counting locally`));
      return;
    }
    if (this.redis.status !== 'ready') {
      // Not sent at all (no offline queue): counting these locally cannot count them twice.
      this.failed(batch, new Error(`Redis connection is ${this.redis.status}; counting clicks locally`));
      return;
    }
    const pipeline = this.redis.pipeline();
    for (const [field, n] of batch) pipeline.hincrby(this.pendingKey, field, n);
    const flight = pipeline.exec().then(
      (results) => {
        let i = 0;
        let refused: Map<string, number> | undefined;
        let error: unknown;
        for (const [field, n] of batch) {
          const err = results?.[i++]?.[0];
          if (err) {
            (refused ??= new Map()).set(field, n);
            error = err;
          } else {
            this.counters.sentClicks += n;
            this.counters.sentFields++;
          }
        }
        if (refused) this.failed(refused, error);
      },
      (err: unknown) => this.failed(batch, err),
    );
    const tracked = flight.finally(() => this.flights.delete(tracked));
    this.flights.add(tracked);
  };

  /** Counts a batch Redis did not take locally instead, and reports (throttled). */
  private failed(batch: Map<string, number>, err: unknown): void {
    this.counters.redisFailures++;
    for (const [field, n] of batch) {
      const d = decodeClickField(field, n);
      if (!d) continue;
      this.fallback.add(d.aggregate, d.addToCount);
      this.counters.fallbackClicks += n;
    }
    this.unreported++;
    const now = this.clock.now();
    if (now - this.lastReport >= this.options.reportIntervalMs) {
      this.lastReport = now;
      this.options.onFailure?.(err, this.unreported);
      this.unreported = 0;
    }
  }
}

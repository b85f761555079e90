import type { Redis } from 'ioredis';
import type { Clock } from '../../platform/clock.js';
import { ClickDimensioner, type ClickedLink, type ClickRecorder, type ClickSink, type ClickSinkStats } from '../../shortener/click-recorder.js';
import { clickField, decodeClickField } from './click-fields.js';

/** Fields per script call: bounds how long one call keeps Redis busy (~1 µs a field). */
const MAX_FIELDS_PER_CALL = 1000;

/**
 * HINCRBY of every (field, n) pair in ARGV on KEYS[1]. Each increment runs under pcall, so the
 * script never stops half-way; it answers the 1-based positions of the pairs Redis refused.
 */
const ADD_CLICKS = `local failed = {}
for i = 1, #ARGV, 2 do
  local r = redis.pcall('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
  if type(r) == 'table' and r.err then failed[#failed + 1] = (i + 1) / 2 end
end
return failed`;

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
  /** Clicks sent and awaiting Redis's reply (what a connection cut now could count twice). */
  inFlightClicks: number;
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
  private readonly counters = { sentClicks: 0, sentFields: 0, redisFailures: 0, fallbackClicks: 0, inFlightClicks: 0 };

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
    // One EVAL per MAX_FIELDS_PER_CALL fields, all in one pipeline (one write, one round trip):
    // far cheaper for this process than one HINCRBY command object per field.
    const fields = [...batch];
    const pipeline = this.redis.pipeline();
    for (let at = 0; at < fields.length; at += MAX_FIELDS_PER_CALL) {
      const args: (string | number)[] = [];
      for (const [field, n] of fields.slice(at, at + MAX_FIELDS_PER_CALL)) args.push(field, n);
      pipeline.eval(ADD_CLICKS, 1, this.pendingKey, ...args);
    }
    const flight = pipeline.exec().then(
      (results) => {
        let refused: Map<string, number> | undefined;
        let error: unknown;
        const refuse = (field: string, n: number, err: unknown) => {
          (refused ??= new Map()).set(field, n);
          error = err;
        };
        for (let call = 0; call * MAX_FIELDS_PER_CALL < fields.length; call++) {
          const part = fields.slice(call * MAX_FIELDS_PER_CALL, (call + 1) * MAX_FIELDS_PER_CALL);
          const [err, value] = results?.[call] ?? [new Error('no reply'), undefined];
          // The script never fails half-way (pcall): it answers the 1-based positions refused.
          const failed = new Set(err ? part.map((_, i) => i + 1) : (value as number[]));
          part.forEach(([field, n], i) => {
            if (failed.has(i + 1)) refuse(field, n, err ?? new Error(`Redis refused HINCRBY ${this.pendingKey}`));
            else {
              this.counters.sentClicks += n;
              this.counters.sentFields++;
            }
          });
        }
        if (refused) this.failed(refused, error);
      },
      (err: unknown) => this.failed(batch, err),
    );
    let clicks = 0;
    for (const n of batch.values()) clicks += n;
    this.counters.inFlightClicks += clicks;
    const tracked = flight.finally(() => {
      this.flights.delete(tracked);
      this.counters.inFlightClicks -= clicks;
    });
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

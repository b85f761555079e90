/**
 * The durable queue port (chapter §6) with SQS semantics done right (defect 7 in DESIGN.md):
 * a leased job is invisible until its visibility timeout, the worker extends the lease while
 * it works, acks and extends carry the lease token so a worker whose lease expired (and whose
 * job someone else now holds) cannot ack or extend it, and poison jobs end in a dead-letter
 * queue with their last error. Delivery is at-least-once: handlers must be idempotent.
 *
 * Adapters: SQLite (embedded default), memory (tests), BullMQ (scale-out, issue 5). Each passes
 * test/contracts/queue.contract.test.ts.
 */

/** JSON-serialisable payload. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** 'high' = 1, 'normal' = 100, 'low' = 1000; or any integer 1..2,097,152 (BullMQ's range). Lower runs first. */
export type Priority = 'high' | 'normal' | 'low' | number;

export interface EnqueueOptions {
  /** Default 'normal'. */
  priority?: Priority;
  /** Not visible before now + delayMs. Mutually exclusive with runAt. */
  delayMs?: number;
  /** Not visible before this epoch-ms time. */
  runAt?: number;
  /**
   * While a job with this key exists in the queue (ready, delayed, leased or dead), or for the
   * adapter's dedupe window after it was acked, enqueue returns that job's id instead.
   */
  dedupeKey?: string;
  /** Leases before the job goes to the dead-letter queue. Default: the adapter's (5). */
  maxAttempts?: number;
}

export interface EnqueueItem<P extends JsonValue = JsonValue> {
  payload: P;
  options?: EnqueueOptions;
}

export interface LeaseOptions {
  /** Most jobs to return (default 1). */
  max?: number;
  /** How long the jobs stay invisible to other consumers (default 30,000 ms). */
  visibilityMs?: number;
  /** Wait up to this long for a job to become due when none is (default 0: return at once). */
  waitMs?: number;
  /** Stops a waiting lease early (resolves with what it has: nothing). */
  signal?: AbortSignal;
}

export interface LeasedJob<P extends JsonValue = JsonValue> {
  readonly id: string;
  readonly queue: string;
  readonly payload: P;
  /** 1 on the first delivery, +1 on each redelivery. */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly priority: number;
  /** Proves this delivery; acks/extends/nacks with an older token are refused. */
  readonly leaseToken: string;
  /** Epoch ms at which the lease expires unless extended. */
  readonly leaseExpiresAt: number;
  readonly createdAt: number;
}

export interface NackOptions {
  /** Default true. False sends the job straight to the dead-letter queue. */
  retryable?: boolean;
  /** Delay before the retry; default from the adapter's backoff for this attempt. */
  delayMs?: number;
  /** Recorded as the job's last error (shown in the dead-letter list). */
  error?: string;
}

/** What nack did. */
export type NackOutcome = { kind: 'retry'; runAt: number } | { kind: 'dead' };

export interface DeadJob<P extends JsonValue = JsonValue> {
  id: string;
  queue: string;
  payload: P;
  attempts: number;
  lastError: string | null;
  deadAt: number;
  createdAt: number;
}

export interface Page<T> {
  items: T[];
  /** Opaque; undefined on the last page. */
  nextCursor: string | undefined;
}

export interface QueueStats {
  /** Due now (including jobs whose lease expired). */
  ready: number;
  /** Not due yet. */
  delayed: number;
  /** Under a valid lease. */
  leased: number;
  dead: number;
}

export interface Queue {
  enqueue<P extends JsonValue>(queue: string, payload: P, options?: EnqueueOptions): Promise<string>;
  /** All or nothing, in one transaction; ids in input order (deduped items give the existing id). */
  enqueueBatch<P extends JsonValue>(queue: string, items: readonly EnqueueItem<P>[]): Promise<string[]>;
  /** Jobs ordered by priority, then due time, then id; one transaction. */
  lease<P extends JsonValue = JsonValue>(queue: string, options?: LeaseOptions): Promise<LeasedJob<P>[]>;
  /** Keeps the job invisible for `ms` more from now; returns the new lease. Throws LeaseLostError. */
  extend<P extends JsonValue>(job: LeasedJob<P>, ms: number): Promise<LeasedJob<P>>;
  /** Done: removes the job. Throws LeaseLostError if the lease was taken over. */
  ack(job: LeasedJob): Promise<void>;
  /** Failed: retry later or dead-letter. Throws LeaseLostError if the lease was taken over. */
  nack(job: LeasedJob, options?: NackOptions): Promise<NackOutcome>;
  deadLetters<P extends JsonValue = JsonValue>(queue: string, options?: { limit?: number; cursor?: string }): Promise<Page<DeadJob<P>>>;
  /** Back to ready with attempts reset; false if no dead job has this id. */
  retryDead(queue: string, id: string): Promise<boolean>;
  countDead(queue: string): Promise<number>;
  stats(queue: string): Promise<QueueStats>;
  /** Wakes waiting leases (they resolve empty) and releases resources. */
  close(): Promise<void>;
}

export const PRIORITIES = { high: 1, normal: 100, low: 1000 } as const;
export const MAX_PRIORITY = 2_097_152;

import type { Clock } from '../clock.js';
import { exponentialBackoff, type Backoff } from '../resilience/backoff.js';
import { QueueUsageError } from './errors.js';
import { MAX_PRIORITY, PRIORITIES, type EnqueueOptions, type LeaseOptions, type Priority } from './types.js';

/** Defaults every adapter shares, so the contract suite holds them all to the same numbers. */
export const QUEUE_DEFAULTS = {
  maxAttempts: 5,
  visibilityMs: 30_000,
  leaseMax: 1,
  /** A lease returns at most this many jobs, whatever `max` asks. */
  leaseMaxCap: 1000,
} as const;

export interface NormalisedEnqueue {
  priority: number;
  runAt: number;
  dedupeKey: string | null;
  maxAttempts: number;
}

export function priorityValue(priority: Priority | undefined): number {
  if (priority === undefined) return PRIORITIES.normal;
  if (typeof priority === 'string') {
    const value = PRIORITIES[priority];
    if (value === undefined) throw new QueueUsageError(`unknown priority ${JSON.stringify(priority)}`);
    return value;
  }
  if (!Number.isInteger(priority) || priority < 1 || priority > MAX_PRIORITY) {
    throw new QueueUsageError(`priority must be an integer 1..${MAX_PRIORITY}, got ${priority}`);
  }
  return priority;
}

export function checkQueueName(queue: string): void {
  if (typeof queue !== 'string' || queue.length === 0 || queue.length > 100) {
    throw new QueueUsageError('queue name must be 1..100 characters');
  }
}

export function normaliseEnqueue(options: EnqueueOptions = {}, clock: Clock, defaultMaxAttempts: number): NormalisedEnqueue {
  const now = clock.now();
  if (options.delayMs !== undefined && options.runAt !== undefined) {
    throw new QueueUsageError('give delayMs or runAt, not both');
  }
  if (options.delayMs !== undefined && !(options.delayMs >= 0 && Number.isFinite(options.delayMs))) {
    throw new QueueUsageError(`delayMs must be a finite number ≥ 0, got ${options.delayMs}`);
  }
  if (options.runAt !== undefined && !Number.isFinite(options.runAt)) {
    throw new QueueUsageError(`runAt must be an epoch-ms number, got ${options.runAt}`);
  }
  const maxAttempts = options.maxAttempts ?? defaultMaxAttempts;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new QueueUsageError(`maxAttempts must be an integer ≥ 1, got ${maxAttempts}`);
  }
  const dedupeKey = options.dedupeKey ?? null;
  if (dedupeKey !== null && (dedupeKey.length === 0 || dedupeKey.length > 200)) {
    throw new QueueUsageError('dedupeKey must be 1..200 characters');
  }
  return {
    priority: priorityValue(options.priority),
    runAt: Math.round(options.runAt ?? now + (options.delayMs ?? 0)),
    dedupeKey,
    maxAttempts,
  };
}

export function normaliseLease(options: LeaseOptions = {}): { max: number; visibilityMs: number; waitMs: number } {
  const max = options.max ?? QUEUE_DEFAULTS.leaseMax;
  const visibilityMs = options.visibilityMs ?? QUEUE_DEFAULTS.visibilityMs;
  const waitMs = options.waitMs ?? 0;
  if (!Number.isInteger(max) || max < 1 || max > QUEUE_DEFAULTS.leaseMaxCap) {
    throw new QueueUsageError(`max must be an integer 1..${QUEUE_DEFAULTS.leaseMaxCap}, got ${max}`);
  }
  if (!(visibilityMs >= 1) || !Number.isFinite(visibilityMs)) throw new QueueUsageError(`visibilityMs must be ≥ 1, got ${visibilityMs}`);
  if (!(waitMs >= 0) || !Number.isFinite(waitMs)) throw new QueueUsageError(`waitMs must be ≥ 0, got ${waitMs}`);
  return { max, visibilityMs: Math.round(visibilityMs), waitMs };
}

/** Serialises a payload once, refusing what JSON cannot carry. */
export function encodePayload(payload: unknown): string {
  const text = JSON.stringify(payload);
  if (text === undefined) throw new QueueUsageError('payload must be JSON-serialisable');
  return text;
}

let tokenCounter = 0;
const tokenPrefix = Math.random().toString(36).slice(2, 10);
/** Unique per lease call in this process; the job id makes it unique per job. */
export function nextLeaseToken(): string {
  tokenCounter += 1;
  return `${tokenPrefix}-${Date.now().toString(36)}-${tokenCounter.toString(36)}`;
}

export interface QueueAdapterOptions {
  clock?: Clock;
  /** Retry delay when nack gives none; default equal jitter, 1 s base, 10 min cap. */
  backoff?: Backoff;
  /** Default maxAttempts for jobs that give none (5). */
  maxAttempts?: number;
  /** How long an acked job's dedupeKey keeps deduping (default 0: only while it exists). */
  dedupeWindowMs?: number;
}

export const defaultQueueBackoff = (): Backoff => exponentialBackoff({ jitter: 'equal', baseMs: 1000, capMs: 600_000 });

export function encodeCursor(id: number): string {
  return Buffer.from(String(id)).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  const text = /^[A-Za-z0-9_-]{1,24}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString() : '';
  const id = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(id)) throw new QueueUsageError('invalid dead-letter cursor');
  return id;
}

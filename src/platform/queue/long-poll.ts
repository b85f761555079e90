import type { Clock } from '../clock.js';
import type { WaitList } from './wait-list.js';

export interface Attempt<T> {
  jobs: T[];
  /** Epoch ms when the next delayed or leased job of the queue becomes due, if any. */
  nextDueAt: number | undefined;
}

export interface LongPollArgs<T> {
  queue: string;
  waitMs: number;
  signal: AbortSignal | undefined;
  waitList: WaitList;
  clock: Clock;
  isClosed: () => boolean;
  /**
   * Longest sleep between attempts when other processes may enqueue (Infinity: none do). A
   * backstop: stores shared between processes should also wake waiters through the WaitList
   * when another process commits (SQLite: CrossProcessWatch on PRAGMA data_version).
   */
  crossProcessMs: number;
  /** One lease attempt; `withNextDue` asks for nextDueAt when nothing was leased. */
  attempt: (withNextDue: boolean) => Promise<Attempt<T>>;
}

/**
 * Tries to lease; if nothing is due and the caller may wait, sleeps until the earliest of: an
 * in-process enqueue into this queue, the next due time, the caller's deadline, abort, close,
 * or the cross-process check, then tries again. The deadline is real (monotonic) time, so a
 * fake clock in tests moves due times without stretching waits forever.
 */
export async function longPoll<T>(args: LongPollArgs<T>): Promise<T[]> {
  const deadline = performance.now() + args.waitMs;
  for (;;) {
    const waiting = args.waitMs > 0 && !args.isClosed() && !args.signal?.aborted;
    const seen = args.waitList.version(args.queue);
    const { jobs, nextDueAt } = await args.attempt(waiting);
    if (jobs.length > 0 || !waiting) return jobs;
    const remaining = deadline - performance.now();
    if (remaining <= 0) return jobs;
    const untilDue = nextDueAt === undefined ? Infinity : Math.max(1, nextDueAt - args.clock.now());
    await args.waitList.wait(args.queue, Math.min(remaining, untilDue, args.crossProcessMs), args.signal, seen);
    if (args.isClosed() || args.signal?.aborted) return [];
  }
}

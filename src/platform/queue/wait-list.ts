/**
 * How a waiting lease sleeps without polling (long-poll, like SQS's WaitTimeSeconds): each
 * waiter parks on a timer set to the earliest moment something could change for it (the next
 * delayed or leased job's due time, its own deadline, and, for stores other processes write
 * to, a slow cross-process check) and is woken at once when this process enqueues into its
 * queue. A wake only means "try again"; the store decides who gets the job, so every waiter of
 * the queue is woken (a handful of cheap attempts, never a job left with everyone asleep).
 *
 * A waiter passes the version it saw before its last attempt: an enqueue that landed between
 * that attempt and parking is not lost, the wait returns at once.
 */
export class WaitList {
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly versions = new Map<string, number>();
  private closed = false;

  /** Changes on every notify(queue). */
  version(queue: string): number {
    return this.versions.get(queue) ?? 0;
  }

  /** Resolves after `ms` (real time), on notify(queue), on abort, on close, or at once if `seen` is stale. */
  wait(queue: string, ms: number, signal?: AbortSignal, seen = this.version(queue)): Promise<void> {
    if (this.closed || signal?.aborted || seen !== this.version(queue)) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.waiters.get(queue);
      if (!set) {
        set = new Set();
        this.waiters.set(queue, set);
      }
      const waiters = set;
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        waiters.delete(done);
        if (waiters.size === 0 && this.waiters.get(queue) === waiters) this.waiters.delete(queue);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, Math.ceil(ms)));
      signal?.addEventListener('abort', done, { once: true });
      waiters.add(done);
    });
  }

  /** Something changed in `queue`: wakes its waiters. */
  notify(queue: string): void {
    this.versions.set(queue, (this.version(queue) + 1) % Number.MAX_SAFE_INTEGER);
    const set = this.waiters.get(queue);
    if (!set) return;
    for (const wake of [...set]) wake();
  }

  /** Waiters currently parked on `queue` (for tests and stats). */
  waiting(queue: string): number {
    return this.waiters.get(queue)?.size ?? 0;
  }

  close(): void {
    this.closed = true;
    for (const set of [...this.waiters.values()]) for (const wake of [...set]) wake();
  }
}

import { BulkheadRejectedError } from './errors.js';
import { contextFor, NEVER_ABORTED, type Policy, type PolicyFn } from './policy.js';

export interface BulkheadOptions {
  /** Calls running at once. */
  maxConcurrent: number;
  /** Calls waiting for a slot; one more is rejected with BulkheadRejectedError. Default 0. */
  maxQueue?: number;
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * A bulkhead (chapter §9.2: isolate resources so one failure does not spread): at most
 * maxConcurrent calls run, maxQueue more wait in FIFO order, and the rest are rejected at
 * once. A slow provider can then hold only its own slots, not every connection and the
 * event loop's memory. A waiter whose signal aborts leaves the queue (so `timeout` outside
 * the bulkhead bounds the wait too). A freed slot passes straight to the next waiter, so a
 * new caller can never overtake the queue.
 */
export class BulkheadPolicy implements Policy {
  declare readonly _alt: never;
  private running = 0;
  private readonly queue: Waiter[] = [];
  readonly maxConcurrent: number;
  readonly maxQueue: number;

  constructor(options: BulkheadOptions) {
    const { maxConcurrent, maxQueue = 0 } = options;
    if (!Number.isSafeInteger(maxConcurrent) || maxConcurrent < 1) throw new RangeError(`maxConcurrent must be an integer ≥ 1, got ${maxConcurrent}`);
    if (!Number.isSafeInteger(maxQueue) || maxQueue < 0) throw new RangeError(`maxQueue must be an integer ≥ 0, got ${maxQueue}`);
    this.maxConcurrent = maxConcurrent;
    this.maxQueue = maxQueue;
  }

  /** Calls running now. */
  get active(): number {
    return this.running;
  }

  /** Calls waiting for a slot. */
  get queued(): number {
    return this.queue.length;
  }

  async execute<T>(fn: PolicyFn<T>, signal: AbortSignal = NEVER_ABORTED): Promise<T> {
    if (signal.aborted) throw signal.reason;
    if (this.running < this.maxConcurrent) this.running++;
    else if (this.queue.length < this.maxQueue) await this.wait(signal);
    else throw new BulkheadRejectedError(this.maxConcurrent, this.maxQueue);
    try {
      return await fn(contextFor(signal));
    } finally {
      this.release();
    }
  }

  /** Resolves when a slot is handed over (the slot count moves with it). */
  private wait(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        reject(signal.reason);
      };
      const waiter: Waiter = {
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      this.queue.push(waiter);
      if (signal !== NEVER_ABORTED) signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private release(): void {
    const next = this.queue.shift();
    if (next !== undefined) next.resolve();
    else this.running--;
  }
}

export function bulkhead(options: BulkheadOptions): BulkheadPolicy {
  return new BulkheadPolicy(options);
}

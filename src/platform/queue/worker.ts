import { exponentialBackoff, type Backoff } from '../resilience/backoff.js';
import { LeaseLostError } from './errors.js';
import { checkQueueName } from './options.js';
import type { JsonValue, LeasedJob, Queue } from './types.js';

/** Does the work; must be idempotent (delivery is at-least-once). Stop when `signal` aborts. */
export type JobHandler<P extends JsonValue = JsonValue> = (job: LeasedJob<P>, signal: AbortSignal) => Promise<void>;

export interface WorkerOptions {
  /** Jobs handled at once (default 1). */
  concurrency?: number;
  /** Lease length; the worker extends it every visibilityMs / 3 while the handler runs (default 30 s). */
  visibilityMs?: number;
  /** Long-poll wait per lease call (default 5 s; close() ends it at once). */
  waitMs?: number;
  /** Failures the worker handled itself (lease lost, store errors): for logs and metrics. */
  onError?: (error: unknown, job?: LeasedJob) => void;
  /** Pause after a failed lease call (default 100 ms … 5 s, full jitter). */
  backoff?: Backoff;
}

export interface WorkerStats {
  inFlight: number;
  acked: number;
  retried: number;
  dead: number;
  leaseLost: number;
}

export interface Worker {
  readonly stats: Readonly<WorkerStats>;
  /**
   * Stops leasing and waits for in-flight handlers. After `timeoutMs` (default: no limit) it
   * aborts their signals and stops extending their leases, so an unfinished job's lease expires
   * and another worker gets it: no job is lost, at worst one runs twice.
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/** Why a handler's signal aborted. */
export class WorkerStopping extends Error {
  constructor(readonly why: 'lease-lost' | 'closing') {
    super(why === 'lease-lost' ? 'the lease on this job was lost' : 'the worker is closing');
    this.name = 'WorkerStopping';
  }
}

/**
 * Runs `handler` over queue `name` (chapter §6's consumer, without defect 7): lease up to the
 * free slots with a long poll, extend each lease at visibility/3 while its handler runs, ack on
 * success, nack on failure — `retryable: false` (PermanentError, TnyError with retryable false)
 * goes to the dead-letter queue, anything else is retried after the error's `retryAfterMs` or
 * the queue's backoff. Unknown errors are retryable here: the queue's maxAttempts bounds them.
 */
export function runWorker<P extends JsonValue = JsonValue>(
  queue: Queue,
  name: string,
  handler: JobHandler<P>,
  options: WorkerOptions = {},
): Worker {
  const concurrency = options.concurrency ?? 1;
  const visibilityMs = options.visibilityMs ?? 30_000;
  const waitMs = options.waitMs ?? 5000;
  const onError = options.onError ?? (() => {});
  const backoff = options.backoff ?? exponentialBackoff({ baseMs: 100, capMs: 5000 });
  checkQueueName(name);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be an integer ≥ 1, got ${concurrency}`);
  if (!(visibilityMs >= 3)) throw new RangeError(`visibilityMs must be ≥ 3, got ${visibilityMs}`);

  const stats: WorkerStats = { inFlight: 0, acked: 0, retried: 0, dead: 0, leaseLost: 0 };
  const running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  const stopping = new AbortController();
  let slotFreed: (() => void) | undefined;

  const handle = async (first: LeasedJob<P>, controller: AbortController): Promise<void> => {
    let job = first;
    let lost = false;
    let finished = false;
    const heartbeat = setInterval(() => {
      if (controller.signal.aborted) return;
      queue.extend(job, visibilityMs).then(
        (extended) => {
          job = extended;
        },
        (error: unknown) => {
          if (finished) return; // raced the ack: nothing to stop
          if (error instanceof LeaseLostError) {
            lost = true;
            stats.leaseLost += 1;
            controller.abort(new WorkerStopping('lease-lost'));
          }
          onError(error, job);
        },
      );
    }, Math.floor(visibilityMs / 3));
    try {
      let failure: unknown;
      let ok = false;
      try {
        await handler(job, controller.signal);
        ok = true;
      } catch (error) {
        failure = error;
      }
      clearInterval(heartbeat);
      finished = true;
      if (lost) return;
      if (ok) {
        await queue.ack(job);
        stats.acked += 1;
      } else {
        // Aborted by close(): hand the job straight back rather than wait out its lease.
        const closing = controller.signal.aborted && stopping.signal.aborted;
        const nack = closing ? { delayMs: 0, error: 'the worker closed before the job finished' } : nackFor(failure);
        const outcome = await queue.nack(job, nack);
        if (outcome.kind === 'dead') stats.dead += 1;
        else stats.retried += 1;
      }
    } catch (error) {
      if (error instanceof LeaseLostError) stats.leaseLost += 1;
      onError(error, job);
    } finally {
      clearInterval(heartbeat);
    }
  };

  const start = (job: LeasedJob<P>): void => {
    const controller = new AbortController();
    stats.inFlight += 1;
    const done = handle(job, controller).finally(() => {
      stats.inFlight -= 1;
      running.delete(job.id);
      slotFreed?.();
    });
    running.set(job.id, { controller, done });
  };

  const loop = async (): Promise<void> => {
    let failures = 0;
    let previous = 0;
    while (!stopping.signal.aborted) {
      const free = concurrency - running.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => (slotFreed = resolve));
        slotFreed = undefined;
        continue;
      }
      try {
        const jobs = await queue.lease<P>(name, { max: free, visibilityMs, waitMs, signal: stopping.signal });
        failures = 0;
        for (const job of jobs) start(job);
      } catch (error) {
        onError(error);
        previous = backoff.delay(++failures, previous);
        await sleep(previous, stopping.signal);
      }
    }
  };
  const looping = loop();

  return {
    stats,
    async close({ timeoutMs = Infinity } = {}) {
      stopping.abort(new WorkerStopping('closing'));
      slotFreed?.();
      await looping;
      const all = Promise.all([...running.values()].map((r) => r.done)).then(() => undefined);
      if (timeoutMs === Infinity) return all;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
      const result = await Promise.race([all, timedOut]);
      clearTimeout(timer);
      if (result === 'timeout') for (const r of running.values()) r.controller.abort(new WorkerStopping('closing'));
    },
  };
}

function nackFor(error: unknown): { retryable: boolean; delayMs?: number; error: string } {
  const e = error as { retryable?: unknown; retryAfterMs?: unknown; message?: unknown } | null;
  const message = e && typeof e.message === 'string' ? e.message : String(error);
  const retryable = e?.retryable !== false;
  const delay = e && typeof e.retryAfterMs === 'number' && e.retryAfterMs >= 0 ? e.retryAfterMs : undefined;
  return { retryable, error: message.slice(0, 2000), ...(delay !== undefined ? { delayMs: delay } : {}) };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

import { afterEach, describe, expect, it } from 'vitest';
import { MemoryQueue } from '../../adapters/memory/memory-queue.js';
import { FakeClock } from '../clock.js';
import { PermanentError, RetryableError } from '../resilience/errors.js';
import { LeaseLostError } from './errors.js';
import type { LeasedJob, Queue } from './types.js';
import { runWorker, WorkerStopping, type Worker } from './worker.js';

const Q = 'work';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const until = async (check: () => boolean | Promise<boolean>, ms = 3000) => {
  const end = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > end) throw new Error('condition not reached');
    await sleep(5);
  }
};

describe('runWorker', () => {
  const workers: Worker[] = [];
  const queues: Queue[] = [];
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.close({ timeoutMs: 100 });
    for (const q of queues.splice(0)) await q.close();
  });
  const memory = (clock?: FakeClock) => {
    const q = new MemoryQueue(clock ? { clock } : {});
    queues.push(q);
    return q;
  };
  const start = (...args: Parameters<typeof runWorker>) => {
    const w = runWorker(...args);
    workers.push(w);
    return w;
  };

  it('runs at most `concurrency` handlers at once and acks every job', async () => {
    const queue = memory();
    let active = 0;
    let peak = 0;
    const seen: number[] = [];
    const worker = start(queue, Q, async (job) => {
      active += 1;
      peak = Math.max(peak, active);
      await sleep(20);
      seen.push(job.payload as number);
      active -= 1;
    }, { concurrency: 3, waitMs: 1000 });
    await queue.enqueueBatch(Q, Array.from({ length: 12 }, (_, i) => ({ payload: i })));
    await until(() => worker.stats.acked === 12);
    expect(peak).toBe(3);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(await queue.stats(Q)).toEqual({ ready: 0, delayed: 0, leased: 0, dead: 0 });
  });

  it('extends the lease while a slow handler runs, so no other consumer gets the job', async () => {
    const queue = memory();
    let runs = 0;
    const worker = start(queue, Q, async () => {
      runs += 1;
      await sleep(500);
    }, { visibilityMs: 150, waitMs: 1000 });
    await queue.enqueue(Q, 'slow');
    await until(() => runs === 1);
    // A competing consumer waits for the whole run: the 150 ms lease would have expired 3×.
    const stolen = await queue.lease(Q, { waitMs: 450, visibilityMs: 1000 });
    expect(stolen).toEqual([]);
    await until(() => worker.stats.acked === 1);
    expect(runs).toBe(1);
  });

  it('retries a RetryableError after its retryAfterMs and dead-letters a PermanentError', async () => {
    const clock = new FakeClock();
    const queue = memory(clock);
    const worker = start(queue, Q, (job) => {
      if (job.payload === 'flaky') return Promise.reject(new RetryableError('503', { retryAfterMs: 7000 }));
      if (job.payload === 'poison') return Promise.reject(new PermanentError('unknown recipient'));
      return Promise.reject(new Error('surprise'));
    }, { waitMs: 1000, concurrency: 3 });
    await queue.enqueueBatch(Q, [{ payload: 'flaky' }, { payload: 'poison' }, { payload: 'unknown' }]);
    await until(() => worker.stats.retried === 2 && worker.stats.dead === 1);
    expect((await queue.deadLetters(Q)).items.map((d) => [d.payload, d.lastError])).toEqual([['poison', 'unknown recipient']]);
    await worker.close();
    // The flaky job is due exactly 7 s later; the unknown error used the queue's backoff (≥ 500 ms, equal jitter).
    clock.advance(6999);
    const early = await queue.lease(Q, { max: 5 });
    expect(early.map((j) => j.payload)).not.toContain('flaky');
    for (const j of early) await queue.nack(j, { delayMs: 60_000 });
    clock.advance(1);
    expect((await queue.lease(Q, { max: 5 })).map((j) => [j.payload, j.attempt])).toEqual([['flaky', 2]]);
  });

  it('aborts the handler when its lease is lost, and does not ack', async () => {
    const inner = memory();
    const lossy: Queue = Object.assign(Object.create(inner) as Queue, {
      extend: (job: LeasedJob) => Promise.reject(new LeaseLostError(Q, job.id)),
    });
    let reason: unknown;
    const worker = start(lossy, Q, (_job, signal) =>
      new Promise<void>((resolve) => signal.addEventListener('abort', () => {
        reason = signal.reason;
        resolve();
      })), { visibilityMs: 30, waitMs: 1000 });
    await inner.enqueue(Q, 'x');
    await until(() => worker.stats.leaseLost === 1 && worker.stats.inFlight === 0);
    expect(reason).toBeInstanceOf(WorkerStopping);
    expect(worker.stats.acked).toBe(0);
    expect((await inner.stats(Q)).leased).toBe(1);
  });

  it('close() stops leasing, lets the in-flight job finish and acks it', async () => {
    const queue = memory();
    let finished = 0;
    const worker = start(queue, Q, async () => {
      await sleep(100);
      finished += 1;
    }, { waitMs: 1000 });
    await queue.enqueue(Q, 'a');
    await until(() => worker.stats.inFlight === 1);
    await queue.enqueue(Q, 'b');
    await worker.close();
    expect(finished).toBe(1);
    expect(worker.stats.acked).toBe(1);
    expect(await queue.stats(Q)).toEqual({ ready: 1, delayed: 0, leased: 0, dead: 0 });
  });

  it('close({ timeoutMs }) aborts a handler that outlives it and hands its job straight back', async () => {
    const clock = new FakeClock();
    const queue = memory(clock);
    const worker = start(queue, Q, (_job, signal) => new Promise<void>((_resolve, reject) => {
      signal.addEventListener('abort', () => reject(new Error('stopped')));
    }), { waitMs: 1000, visibilityMs: 60_000 });
    const id = await queue.enqueue(Q, 'slow');
    await until(() => worker.stats.inFlight === 1);
    const t = performance.now();
    await worker.close({ timeoutMs: 50 });
    expect(performance.now() - t).toBeLessThan(1000);
    await until(() => worker.stats.retried === 1);
    const [again] = await queue.lease(Q);
    expect(again).toMatchObject({ id, attempt: 2 });
  });

  it('a handler that ignores the abort loses its job when the lease expires: redelivered, not lost', async () => {
    const clock = new FakeClock();
    const queue = memory(clock);
    const worker = start(queue, Q, () => new Promise<void>(() => {}), { waitMs: 1000, visibilityMs: 60_000 });
    const id = await queue.enqueue(Q, 'stuck');
    await until(() => worker.stats.inFlight === 1);
    await worker.close({ timeoutMs: 30 });
    expect(await queue.stats(Q)).toEqual({ ready: 0, delayed: 0, leased: 1, dead: 0 });
    clock.advance(60_000);
    const [again] = await queue.lease(Q);
    expect(again).toMatchObject({ id, attempt: 2 });
  });
});

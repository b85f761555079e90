import { execFile } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/platform/clock.js';
import { LeaseLostError, QueueUsageError } from '../../src/platform/queue/errors.js';
import type { LeasedJob, Queue } from '../../src/platform/queue/types.js';
import { runWorker } from '../../src/platform/queue/worker.js';
import { exponentialBackoff } from '../../src/platform/resilience/backoff.js';
import { RetryableError } from '../../src/platform/resilience/errors.js';
import { bullmqQueueFactory, memoryQueueFactory, sqliteQueueFactory, type QueueFactory, type QueueUnderTest } from '../helpers/queue.js';
import { describeWithRedis } from '../helpers/redis.js';

const Q = 'jobs';

for (const factory of [sqliteQueueFactory, memoryQueueFactory]) {
  describe(`Queue contract: ${factory.name}`, () => contract(factory));
}
describeWithRedis('Queue contract: bullmq', (url) => contract(bullmqQueueFactory(url)));

function contract(factory: QueueFactory): void {
  let opened: QueueUnderTest[] = [];
  afterEach(async () => {
    for (const o of opened) await o.close();
    opened = [];
  });
  const open = async (options: Parameters<QueueFactory['open']>[0] = {}): Promise<QueueUnderTest> => {
    const o = await factory.open(options);
    opened.push(o);
    return o;
  };
  const fake = async (extra: Parameters<QueueFactory['open']>[0] = {}) => {
    const clock = new FakeClock();
    const { queue } = await open({ clock, backoff: exponentialBackoff({ jitter: 'none', baseMs: 1000, capMs: 60_000 }), ...extra });
    return { clock, queue };
  };
  const ids = (jobs: LeasedJob[]) => jobs.map((j) => j.id);
  const payloads = (jobs: LeasedJob[]) => jobs.map((j) => j.payload);

  it('leases by priority, then due time, then enqueue order', async () => {
    const { clock, queue } = await fake();
    await queue.enqueue(Q, 'low', { priority: 'low' });
    await queue.enqueue(Q, 'normal-late', { runAt: clock.now() + 10 });
    await queue.enqueue(Q, 'normal-early', { runAt: clock.now() - 10 });
    await queue.enqueue(Q, 'high', { priority: 'high' });
    await queue.enqueue(Q, 'p50', { priority: 50 });
    clock.advance(10);
    const jobs = await queue.lease(Q, { max: 10 });
    expect(payloads(jobs)).toEqual(['high', 'p50', 'normal-early', 'normal-late', 'low']);
    expect(jobs.every((j) => j.attempt === 1)).toBe(true);
  });

  it.each([
    [{ priority: 0 }],
    [{ priority: 1.5 }],
    [{ priority: 3_000_000 }],
    [{ priority: 'urgent' as never }],
    [{ delayMs: -1 }],
    [{ delayMs: 1, runAt: 5 }],
    [{ maxAttempts: 0 }],
    [{ dedupeKey: '' }],
  ])('refuses bad enqueue options %j', async (options) => {
    const { queue } = await fake();
    await expect(queue.enqueue(Q, 1, options)).rejects.toBeInstanceOf(QueueUsageError);
    expect((await queue.stats(Q)).ready).toBe(0);
  });

  it('keeps a delayed job invisible until it is due', async () => {
    const { clock, queue } = await fake();
    await queue.enqueue(Q, 'later', { delayMs: 5000 });
    expect(await queue.lease(Q)).toEqual([]);
    expect(await queue.stats(Q)).toEqual({ ready: 0, delayed: 1, leased: 0, dead: 0 });
    clock.advance(4999);
    expect(await queue.lease(Q)).toEqual([]);
    clock.advance(1);
    expect(payloads(await queue.lease(Q))).toEqual(['later']);
  });

  it('redelivers a job whose lease expired, with attempt + 1 and a new token', async () => {
    const { clock, queue } = await fake();
    await queue.enqueue(Q, 'x');
    const [first] = await queue.lease(Q, { visibilityMs: 1000 });
    expect(await queue.stats(Q)).toEqual({ ready: 0, delayed: 0, leased: 1, dead: 0 });
    clock.advance(999);
    expect(await queue.lease(Q)).toEqual([]);
    clock.advance(1);
    const [second] = await queue.lease(Q, { visibilityMs: 1000 });
    expect(second?.id).toBe(first?.id);
    expect(second?.attempt).toBe(2);
    expect(second?.leaseToken).not.toBe(first?.leaseToken);
  });

  it('extend keeps the job invisible past its first visibility timeout', async () => {
    const { clock, queue } = await fake();
    await queue.enqueue(Q, 'x');
    const [job] = await queue.lease(Q, { visibilityMs: 1000 });
    clock.advance(900);
    const extended = await queue.extend(job!, 1000);
    expect(extended.leaseExpiresAt).toBe(clock.now() + 1000);
    clock.advance(900);
    expect(await queue.lease(Q)).toEqual([]);
    await queue.ack(extended);
    clock.advance(10_000);
    expect(await queue.lease(Q)).toEqual([]);
  });

  it('refuses ack, extend and nack with a stale lease token, and applies none of them', async () => {
    const { clock, queue } = await fake();
    await queue.enqueue(Q, 'x');
    const [stale] = await queue.lease(Q, { visibilityMs: 1000 });
    clock.advance(1000);
    const [fresh] = await queue.lease(Q, { visibilityMs: 1000 });
    await expect(queue.ack(stale!)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(queue.extend(stale!, 60_000)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(queue.nack(stale!, { retryable: false })).rejects.toBeInstanceOf(LeaseLostError);
    expect(await queue.stats(Q)).toEqual({ ready: 0, delayed: 0, leased: 1, dead: 0 });
    // The stale extend did not stretch the lease: it expires on the fresh schedule.
    clock.advance(1000);
    const [third] = await queue.lease(Q);
    expect(third?.attempt).toBe(3);
    await expect(queue.ack(fresh!)).rejects.toBeInstanceOf(LeaseLostError);
    await queue.ack(third!);
    expect(await queue.stats(Q)).toEqual({ ready: 0, delayed: 0, leased: 0, dead: 0 });
  });

  it('a refused ack issued together with valid writes rolls back only itself', async () => {
    const { clock, queue } = await fake();
    await queue.enqueueBatch(Q, [{ payload: 'a' }, { payload: 'b' }, { payload: 'c' }]);
    const [a] = await queue.lease(Q, { visibilityMs: 1000 });
    clock.advance(1000);
    // a's expired lease makes it due at t0 + 1000, after b and c (due at t0).
    const [b, c, aAgain] = await queue.lease(Q, { max: 3, visibilityMs: 60_000 });
    expect([b?.payload, c?.payload, aAgain?.payload]).toEqual(['b', 'c', 'a']);
    // Same event-loop turn: SQLite commits these in one transaction.
    const results = await Promise.allSettled([queue.ack(b!), queue.ack(a!), queue.enqueue(Q, 'd'), queue.extend(aAgain!, 5000)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(LeaseLostError);
    expect(payloads(await queue.lease(Q, { max: 5 }))).toEqual(['d']);
    expect(await queue.stats(Q)).toEqual({ ready: 0, delayed: 0, leased: 3, dead: 0 });
    await queue.ack(c!);
    await queue.ack(aAgain!);
  });

  it('accepts an ack after the lease expired when nobody took the job since', async () => {
    const { clock, queue } = await fake();
    await queue.enqueue(Q, 'x');
    const [job] = await queue.lease(Q, { visibilityMs: 1000 });
    clock.advance(5000);
    await queue.ack(job!);
    expect(await queue.lease(Q)).toEqual([]);
  });

  it('dedupes by key while the job exists, then accepts the key again after ack', async () => {
    const { queue } = await fake();
    const a = await queue.enqueue(Q, 'first', { dedupeKey: 'k' });
    const b = await queue.enqueue(Q, 'second', { dedupeKey: 'k' });
    expect(b).toBe(a);
    expect(await queue.enqueue(Q, 'other queue', { dedupeKey: 'k' }).then((id) => id)).toBe(a);
    const otherQueue = await queue.enqueue('elsewhere', 'same key, other queue', { dedupeKey: 'k' });
    expect(otherQueue).not.toBe(a);
    const [job] = await queue.lease(Q, { max: 5 });
    expect(job?.payload).toBe('first');
    expect(await queue.enqueue(Q, 'while leased', { dedupeKey: 'k' })).toBe(a);
    await queue.ack(job!);
    const c = await queue.enqueue(Q, 'after ack', { dedupeKey: 'k' });
    expect(c).not.toBe(a);
  });

  it('keeps deduping for the dedupe window after ack', async () => {
    const { clock, queue } = await fake({ dedupeWindowMs: 60_000 });
    const a = await queue.enqueue(Q, 'first', { dedupeKey: 'k' });
    const [job] = await queue.lease(Q);
    await queue.ack(job!);
    clock.advance(59_999);
    expect(await queue.enqueue(Q, 'again', { dedupeKey: 'k' })).toBe(a);
    expect(await queue.lease(Q)).toEqual([]);
    clock.advance(1);
    const b = await queue.enqueue(Q, 'after window', { dedupeKey: 'k' });
    expect(b).not.toBe(a);
    expect(payloads(await queue.lease(Q))).toEqual(['after window']);
  });

  it('retries a nacked job after the backoff delay, then dead-letters it after maxAttempts', async () => {
    const { clock, queue } = await fake();
    const id = await queue.enqueue(Q, { to: 'a@example.com' }, { maxAttempts: 3 });
    for (const [attempt, backoff] of [[1, 1000], [2, 2000]] as const) {
      const [job] = await queue.lease(Q);
      expect(job?.attempt).toBe(attempt);
      expect(await queue.nack(job!, { error: `boom ${attempt}` })).toEqual({ kind: 'retry', runAt: clock.now() + backoff });
      clock.advance(backoff - 1);
      expect(await queue.lease(Q)).toEqual([]);
      clock.advance(1);
    }
    const [last] = await queue.lease(Q);
    expect(last?.attempt).toBe(3);
    expect(await queue.nack(last!, { error: 'boom 3', delayMs: 1 })).toEqual({ kind: 'dead' });
    clock.advance(60_000);
    expect(await queue.lease(Q)).toEqual([]);
    const page = await queue.deadLetters(Q);
    expect(page.items).toMatchObject([{ id, payload: { to: 'a@example.com' }, attempts: 3, lastError: 'boom 3' }]);
    expect(await queue.countDead(Q)).toBe(1);
  });

  it('honours an explicit nack delay and dead-letters a permanent failure at once', async () => {
    const { clock, queue } = await fake();
    await queue.enqueueBatch(Q, [{ payload: 'retry' }, { payload: 'poison' }]);
    const [retry, poison] = await queue.lease(Q, { max: 2 });
    expect(await queue.nack(retry!, { delayMs: 250 })).toEqual({ kind: 'retry', runAt: clock.now() + 250 });
    expect(await queue.nack(poison!, { retryable: false, error: 'unknown recipient' })).toEqual({ kind: 'dead' });
    clock.advance(250);
    expect(payloads(await queue.lease(Q, { max: 5 }))).toEqual(['retry']);
    expect((await queue.deadLetters(Q)).items.map((d) => d.lastError)).toEqual(['unknown recipient']);
  });

  it('dead-letters a job whose last lease expired, and a late ack of that delivery clears it', async () => {
    const { clock, queue } = await fake();
    await queue.enqueue(Q, 'a', { maxAttempts: 1 });
    await queue.enqueue(Q, 'b', { maxAttempts: 1 });
    const [a, b] = await queue.lease(Q, { max: 2, visibilityMs: 1000 });
    clock.advance(1000);
    expect(await queue.lease(Q, { max: 5 })).toEqual([]);
    expect(await queue.countDead(Q)).toBe(2);
    expect((await queue.deadLetters(Q)).items[0]?.lastError).toMatch(/lease expired/);
    await queue.ack(a!);
    expect(await queue.countDead(Q)).toBe(1);
    await expect(queue.nack(b!)).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('pages dead letters with a cursor and retries one with attempts reset', async () => {
    const { queue } = await fake();
    const enqueued = await queue.enqueueBatch(Q, [1, 2, 3, 4, 5].map((n) => ({ payload: n, options: { maxAttempts: 1 } })));
    for (const job of await queue.lease(Q, { max: 5 })) await queue.nack(job, { error: `e${String(job.payload)}` });
    const first = await queue.deadLetters(Q, { limit: 2 });
    const second = await queue.deadLetters(Q, { limit: 2, cursor: first.nextCursor! });
    const third = await queue.deadLetters(Q, { limit: 2, cursor: second.nextCursor! });
    expect([...first.items, ...second.items, ...third.items].map((d) => d.id)).toEqual(enqueued);
    expect(third.nextCursor).toBeUndefined();
    await expect(queue.deadLetters(Q, { cursor: '!!' })).rejects.toBeInstanceOf(QueueUsageError);

    expect(await queue.retryDead(Q, enqueued[2]!)).toBe(true);
    expect(await queue.retryDead(Q, enqueued[2]!)).toBe(false);
    expect(await queue.retryDead('other', enqueued[3]!)).toBe(false);
    expect(await queue.countDead(Q)).toBe(4);
    const [again] = await queue.lease(Q);
    expect(again).toMatchObject({ id: enqueued[2], payload: 3, attempt: 1 });
  });

  it('enqueues a batch all or nothing, and leases a batch in order', async () => {
    const { queue } = await fake();
    await expect(
      queue.enqueueBatch(Q, [{ payload: 'ok' }, { payload: 'bad', options: { priority: -1 } }]),
    ).rejects.toBeInstanceOf(QueueUsageError);
    expect((await queue.stats(Q)).ready).toBe(0);
    const batch = await queue.enqueueBatch(Q, Array.from({ length: 50 }, (_, i) => ({ payload: i })));
    expect(new Set(batch).size).toBe(50);
    const leased = await queue.lease(Q, { max: 20 });
    expect(ids(leased)).toEqual(batch.slice(0, 20));
    expect(await queue.stats(Q)).toEqual({ ready: 30, delayed: 0, leased: 20, dead: 0 });
  });

  it('leases one high-priority job before the next 100 of 20,000 low ones', async () => {
    const { queue } = await fake();
    await queue.enqueueBatch(Q, Array.from({ length: 20_000 }, (_, i) => ({ payload: i, options: { priority: 'low' } })));
    const before = await queue.lease(Q, { max: 10 });
    expect(payloads(before)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await queue.enqueue(Q, 'urgent', { priority: 'high' });
    const next = [];
    for (let i = 0; i < 100; i++) next.push(...(await queue.lease(Q)));
    expect(next.findIndex((j) => j.payload === 'urgent')).toBe(0);
    expect(payloads(next.slice(1, 4))).toEqual([10, 11, 12]);
  });

  it('long-poll: a waiting lease wakes within a few ms of an enqueue, without spinning', async () => {
    const { queue } = await open({ crossProcessPollMs: 10_000 });
    const waiting = queue.lease(Q, { waitMs: 5000 });
    const cpuBefore = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 400));
    const cpu = process.cpuUsage(cpuBefore);
    const enqueuedAt = performance.now();
    await queue.enqueue(Q, 'now');
    const jobs = await waiting;
    const latency = performance.now() - enqueuedAt;
    expect(payloads(jobs)).toEqual(['now']);
    expect(latency).toBeLessThan(50);
    // A loop polling the store would burn most of a core for those 400 ms.
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(100);
  });

  it('long-poll: wakes when a delayed job becomes due, and returns empty at its deadline', async () => {
    const { queue } = await open({ crossProcessPollMs: 10_000 });
    // The delay counts from the enqueue call (a Redis round trip can take tens of ms under load).
    const started = performance.now();
    await queue.enqueue(Q, 'soon', { delayMs: 150 });
    const jobs = await queue.lease(Q, { waitMs: 3000 });
    const waited = performance.now() - started;
    expect(payloads(jobs)).toEqual(['soon']);
    expect(waited).toBeGreaterThanOrEqual(140);
    expect(waited).toBeLessThan(1000);
    const t = performance.now();
    expect(await queue.lease('empty', { waitMs: 120 })).toEqual([]);
    expect(performance.now() - t).toBeGreaterThanOrEqual(115);
  });

  it('long-poll: abort and close end a waiting lease with nothing', async () => {
    const { queue } = await open();
    const controller = new AbortController();
    const aborted = queue.lease(Q, { waitMs: 10_000, signal: controller.signal });
    const closed = queue.lease('other', { waitMs: 10_000 });
    const t = performance.now();
    controller.abort();
    expect(await aborted).toEqual([]);
    await queue.close();
    expect(await closed).toEqual([]);
    expect(performance.now() - t).toBeLessThan(1000);
  });

  it('concurrent waiting consumers in one process never get the same job', async () => {
    const { queue } = await open();
    const consumers = Array.from({ length: 8 }, () => queue.lease(Q, { waitMs: 3000, max: 2, visibilityMs: 60_000 }));
    await queue.enqueueBatch(Q, Array.from({ length: 16 }, (_, i) => ({ payload: i })));
    const started = performance.now();
    const got = (await Promise.all(consumers)).flat();
    expect(new Set(ids(got)).size).toBe(16);
    expect(got.length).toBe(16);
    // Nobody slept through the enqueue (which landed before some had parked).
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('runWorker: two workers process every job exactly once, retrying a failure', async () => {
    const { queue } = await open();
    const runs = new Map<number, number>();
    const handler = async (job: LeasedJob) => {
      const n = job.payload as number;
      runs.set(n, (runs.get(n) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (n === 7 && job.attempt === 1) throw new RetryableError('try again', { retryAfterMs: 10 });
    };
    const workers = [runWorker(queue, Q, handler, { concurrency: 4, waitMs: 500 }), runWorker(queue, Q, handler, { concurrency: 4, waitMs: 500 })];
    await queue.enqueueBatch(Q, Array.from({ length: 200 }, (_, i) => ({ payload: i })));
    const end = performance.now() + 5000;
    while (workers.reduce((s, w) => s + w.stats.acked, 0) < 200 && performance.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await Promise.all(workers.map((w) => w.close()));
    expect(workers.reduce((s, w) => s + w.stats.acked, 0)).toBe(200);
    expect(workers.every((w) => w.stats.acked > 0)).toBe(true);
    expect([...runs.entries()].filter(([, count]) => count !== 1)).toEqual([[7, 2]]);
    expect(await queue.stats(Q)).toEqual({ ready: 0, delayed: 0, leased: 0, dead: 0 });
  });

  it('runWorker: a handler slower than the visibility timeout runs once (the lease is extended)', async () => {
    const { queue } = await open();
    let runs = 0;
    const slow = async () => {
      runs += 1;
      await new Promise((resolve) => setTimeout(resolve, 450));
    };
    // 150 ms leases extended every 50 ms: 3 visibility timeouts pass while the handler runs.
    const workers = [runWorker(queue, Q, slow, { visibilityMs: 150, waitMs: 500 }), runWorker(queue, Q, slow, { visibilityMs: 150, waitMs: 500 })];
    await queue.enqueue(Q, 'slow');
    const end = performance.now() + 3000;
    while (workers.reduce((s, w) => s + w.stats.acked, 0) < 1 && performance.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await Promise.all(workers.map((w) => w.close()));
    expect(runs).toBe(1);
    expect(workers.reduce((s, w) => s + w.stats.acked + w.stats.leaseLost, 0)).toBe(1);
  });

  if (factory.shared) {
    it('several connections on one store never lease a job twice while its lease is valid', async () => {
      const o = await open();
      const others: Queue[] = [o.queue];
      for (let i = 0; i < 3; i++) others.push(await o.reopen!());
      await o.queue.enqueueBatch(Q, Array.from({ length: 400 }, (_, i) => ({ payload: i })));
      const seen: string[] = [];
      await Promise.all(
        others.map(async (q) => {
          for (;;) {
            const jobs = await q.lease(Q, { max: 3, visibilityMs: 60_000 });
            if (jobs.length === 0) return;
            seen.push(...ids(jobs));
          }
        }),
      );
      expect(seen.length).toBe(400);
      expect(new Set(seen).size).toBe(400);
    });

    it('several processes on one store never lease a job twice while its lease is valid', async () => {
      const o = await open();
      const enqueued = await o.queue.enqueueBatch(Q, Array.from({ length: 3000 }, (_, i) => ({ payload: i })));
      const startAt = Date.now() + 3000;
      const results = await Promise.all(
        [1, 2, 3].map(
          () =>
            new Promise<string[]>((resolve, reject) => {
              execFile(process.execPath, ['--import', 'tsx', ...o.childArgs!(Q, startAt)], { timeout: 30_000 }, (error, stdout, stderr) =>
                error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as string[]),
              );
            }),
        ),
      );
      const all = results.flat();
      expect(all.length).toBe(3000);
      expect(new Set(all)).toEqual(new Set(enqueued));
      // The processes really overlapped (one that started late may find the queue empty).
      expect(results.filter((r) => r.length > 0).length).toBeGreaterThanOrEqual(2);
    }, 30_000);

    it('long-poll across connections: a job enqueued elsewhere is found at the next cross-process check', async () => {
      const o = await open();
      const other = await o.reopen!({ crossProcessPollMs: 50 });
      const waiting = other.lease(Q, { waitMs: 3000 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const t = performance.now();
      await o.queue.enqueue(Q, 'from elsewhere');
      expect(payloads(await waiting)).toEqual(['from elsewhere']);
      expect(performance.now() - t).toBeLessThan(500);
    });

    it('leases survive a restart: hidden until they expire, then redelivered', async () => {
      const clock = new FakeClock();
      const o = await open({ clock });
      await o.queue.enqueue(Q, 'x');
      const [job] = await o.queue.lease(Q, { visibilityMs: 10_000 });
      await o.queue.close();
      const restarted = await o.reopen!({ clock });
      expect(await restarted.lease(Q)).toEqual([]);
      expect((await restarted.stats(Q)).leased).toBe(1);
      clock.advance(10_000);
      const [again] = await restarted.lease(Q);
      expect(again).toMatchObject({ id: job!.id, attempt: 2 });
    });
  }
}

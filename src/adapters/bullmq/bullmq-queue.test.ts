import { randomBytes } from 'node:crypto';
import { Queue as BullQueue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { describeWithRedis } from '../../../test/helpers/redis.js';
import { FakeClock } from '../../platform/clock.js';
import { QueueUsageError } from '../../platform/queue/errors.js';
import { BullmqQueue } from './bullmq-queue.js';

/**
 * What the BullMQ adapter adds to the queue contract (test/contracts/queue.contract.test.ts
 * runs the port's semantics on it): the jobs are BullMQ's, readable by BullMQ's own client;
 * queue names BullMQ refuses still work; wake-ups cross clients over pub/sub.
 */
describeWithRedis('BullmqQueue', (url) => {
  const prefix = `tnytest-${randomBytes(6).toString('hex')}`;
  const clients: Redis[] = [];
  const queues: BullmqQueue[] = [];
  const open = (options: { crossProcessPollMs?: number; clock?: FakeClock; dedupeWindowMs?: number } = {}): BullmqQueue => {
    const redis = new Redis(url, { maxRetriesPerRequest: null });
    clients.push(redis);
    const queue = new BullmqQueue(redis, { prefix, ...options });
    queues.push(queue);
    return queue;
  };
  afterEach(async () => {
    for (const q of queues.splice(0)) await q.close();
    const redis = clients[0];
    if (redis) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
    for (const c of clients.splice(0)) await c.quit();
  });

  it('stores BullMQ jobs: data, priority, attempts and the dedupe key as BullMQ deduplication', async () => {
    const queue = open();
    const id = await queue.enqueue('mail', { to: 'a@example.com' }, { priority: 'high', dedupeKey: 'n1:mail', maxAttempts: 7 });
    expect(id).toMatch(/^\d+@mail$/);
    const bull = new BullQueue('mail', { connection: { url }, prefix });
    try {
      const bullId = id.split('@')[0]!;
      const job = await bull.getJob(bullId);
      expect(job?.data).toEqual({ to: 'a@example.com' });
      expect(job?.opts.priority).toBe(1);
      expect(job?.opts.attempts).toBe(7);
      expect(await bull.getDeduplicationJobId('n1:mail')).toBe(bullId);
      expect(await bull.getJobCounts('prioritized', 'active')).toEqual({ prioritized: 1, active: 0 });
      const [leased] = await queue.lease('mail');
      expect(await bull.getJobCounts('prioritized', 'active')).toEqual({ prioritized: 0, active: 1 });
      await queue.ack(leased!);
      expect(await bull.getJob(bullId)).toBeUndefined();
      expect(await bull.getDeduplicationJobId('n1:mail')).toBeNull();
    } finally {
      await bull.close();
    }
  });

  it('a job due now is ready, not delayed, however far the clock moves while it is enqueued', async () => {
    // A clock that moves 1 ms on every read, as a loaded machine's does between two reads.
    const ticking = new FakeClock(1_000_000);
    const now = ticking.now.bind(ticking);
    ticking.now = () => {
      const t = now();
      ticking.advance(1);
      return t;
    };
    const queue = open({ clock: ticking });
    await queue.enqueue('ticks', { n: 1 }, { priority: 'normal' });
    await queue.enqueueBatch('ticks', [{ payload: { n: 2 } }, { payload: { n: 3 } }]);
    const bull = new BullQueue('ticks', { connection: { url }, prefix });
    try {
      expect(await bull.getJobCounts('prioritized', 'wait', 'delayed')).toEqual({ prioritized: 3, wait: 0, delayed: 0 });
    } finally {
      await bull.close();
    }
  });

  it('takes queue names BullMQ refuses (":" is its key separator)', async () => {
    const queue = open();
    for (const name of ['a:b', 'a%3Ab', '50%:x']) {
      const id = await queue.enqueue(name, name, { maxAttempts: 1 });
      const [job] = await queue.lease(name);
      expect(job).toMatchObject({ id, payload: name, queue: name });
      await queue.nack(job!, { error: 'boom' });
      expect((await queue.deadLetters(name)).items.map((d) => d.payload)).toEqual([name]);
      expect(await queue.retryDead(name, id)).toBe(true);
    }
    expect(await queue.stats('a:b')).toEqual({ ready: 1, delayed: 0, leased: 0, dead: 0 });
    expect(await queue.stats('a%3Ab')).toEqual({ ready: 1, delayed: 0, leased: 0, dead: 0 });
  });

  it("a lease waiting on one client wakes on another client's enqueue over pub/sub, not at the slow check", async () => {
    const consumer = open({ crossProcessPollMs: 10_000 });
    const producer = open();
    const waiting = consumer.lease('wake', { waitMs: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 200)); // subscribed and parked
    const t = performance.now();
    await producer.enqueue('wake', 'hello');
    const jobs = await waiting;
    expect(jobs.map((j) => j.payload)).toEqual(['hello']);
    expect(performance.now() - t).toBeLessThan(200);
  });

  it('refuses ids of another queue or not its own, and enqueues after close', async () => {
    const queue = open();
    const id = await queue.enqueue('q1', 1, { maxAttempts: 1 });
    const [job] = await queue.lease('q1');
    await queue.nack(job!);
    expect(await queue.retryDead('q2', id)).toBe(false);
    expect(await queue.retryDead('q1', 'x@q1')).toBe(false);
    expect(await queue.retryDead('q1', id.split('@')[0]!)).toBe(false);
    expect(await queue.retryDead('q1', id)).toBe(true);
    await queue.close();
    await expect(queue.enqueue('q1', 2)).rejects.toBeInstanceOf(QueueUsageError);
    expect(await queue.lease('q1', { waitMs: 1000 })).toEqual([]);
  });

  it('purges jobs kept for the dedupe window once it has passed, on later acks', async () => {
    const clock = new FakeClock();
    const queue = open({ clock, dedupeWindowMs: 1000 });
    const redis = clients[0]!;
    for (const key of ['a', 'b']) {
      await queue.enqueue('w', key, { dedupeKey: key });
      await queue.ack((await queue.lease('w'))[0]!);
    }
    expect(await redis.zcard(`${prefix}:w:completed`)).toBe(2);
    clock.advance(1000);
    await queue.enqueue('w', 'c', { dedupeKey: 'c' });
    await queue.ack((await queue.lease('w'))[0]!);
    // a and b are gone (hash, dedupe key); c is kept for its window.
    expect(await redis.zrange(`${prefix}:w:completed`, 0, -1)).toHaveLength(1);
    expect(await redis.keys(`${prefix}:w:de:*`)).toEqual([`${prefix}:w:de:c`]);
    const a2 = await queue.enqueue('w', 'a again', { dedupeKey: 'a' });
    expect((await queue.lease('w'))[0]).toMatchObject({ id: a2, payload: 'a again' });
  });
});

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { SqliteQueueOptions } from '../../src/adapters/sqlite/sqlite-queue.js';
import { sqliteQueueFactory, type QueueUnderTest } from '../helpers/queue.js';

/**
 * Cross-process pickup on SQLite: a lease waiting in this process finds a job that ANOTHER
 * process (spawned) enqueued into the same file, through the PRAGMA data_version watch.
 */
const enqueuer = fileURLToPath(new URL('./queue-enqueuer.ts', import.meta.url));
const Q = 'pickup';
const JOBS = 12;

let opened: QueueUnderTest | undefined;
afterEach(async () => {
  await opened?.close();
  opened = undefined;
});

const now = () => performance.timeOrigin + performance.now();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Spawns the enqueuer while one lease after another waits here; returns each job's pickup latency (ms). */
async function pickupLatencies(options: SqliteQueueOptions): Promise<number[]> {
  opened = await sqliteQueueFactory.open(options);
  const { queue, file } = opened;
  const child = new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', enqueuer, file!, Q, String(JOBS)], { timeout: 30_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
    );
  });
  const leasedAt = new Map<number, number>();
  while (leasedAt.size < JOBS) {
    const jobs = await queue.lease<number>(Q, { waitMs: 20_000, max: 10 });
    const at = now();
    expect(jobs.length, 'the wait ended without a job').toBeGreaterThan(0);
    for (const job of jobs) {
      leasedAt.set(job.payload, at);
      await queue.ack(job);
    }
  }
  const committed = (await child)
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { i: number; at: number });
  expect(committed).toHaveLength(JOBS);
  return committed.map(({ i, at }) => leasedAt.get(i)! - at);
}

describe('SQLite queue: cross-process pickup (spawned enqueuer)', () => {
  it('leases a job enqueued by another process within a few ms of its commit', async () => {
    const latencies = await pickupLatencies({});
    console.log(`data_version watch: pickup median ${median(latencies).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`);
    expect(median(latencies)).toBeLessThan(25);
    expect(Math.max(...latencies)).toBeLessThan(50);
  }, 30_000);

  it('the same run with the watch off (the old 250 ms poll) is slower: the test can tell them apart', async () => {
    const latencies = await pickupLatencies({ dataVersionWatchMs: 0, crossProcessPollMs: 250 });
    console.log(`250 ms poll: pickup median ${median(latencies).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`);
    expect(median(latencies)).toBeGreaterThan(25);
  }, 30_000);

  it('a delayed job from another connection is leased when it becomes due, not at the 5 s backstop', async () => {
    opened = await sqliteQueueFactory.open({});
    const other = await opened.reopen!();
    const waiting = opened.queue.lease<string>(Q, { waitMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const t = performance.now();
    await other.enqueue(Q, 'later', { delayMs: 200 });
    const jobs = await waiting;
    const waited = performance.now() - t;
    expect(jobs.map((j) => j.payload)).toEqual(['later']);
    expect(waited).toBeGreaterThanOrEqual(195);
    expect(waited).toBeLessThan(400);
  });

  it('a waiting lease on a quiet file costs almost no CPU', async () => {
    opened = await sqliteQueueFactory.open({});
    const before = process.cpuUsage();
    const started = performance.now();
    expect(await opened.queue.lease(Q, { waitMs: 1000 })).toEqual([]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    const cpu = process.cpuUsage(before);
    // 250 ticks of one pragma each; a loop running the lease query would burn far more.
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(60);
  });
});

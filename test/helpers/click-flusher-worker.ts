/**
 * Child process for the Redis click flush kill tests: runs a ClickFlusher against the database
 * in argv[2] (JSON DatabaseLocation) and Redis until killed, or until SIGTERM (a clean close).
 * With `pauseMs`, it stops that long at each point of a flush and prints where it is first
 * (`renamed`, `writing` = inside the transaction, `committed` = before DEL), so a test can
 * SIGKILL it in a chosen window. Prints `flushed <id> <applied> <clicks>` after each flush.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { ClickFlusher } from '../../src/adapters/redis/click-flusher.js';
import { KyselyClickFlushes } from '../../src/adapters/sql/kysely-click-flushes.js';
import { systemClock } from '../../src/platform/clock.js';
import { connect, type DatabaseLocation } from './databases.js';

export interface FlusherWorkerOptions {
  redisUrl: string;
  prefix: string;
  intervalMs: number;
  leaseTtlMs: number;
  pauseMs: number;
}

const say = (line: string): void => void process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const location = JSON.parse(process.argv[2] ?? '') as DatabaseLocation;
  const o = JSON.parse(process.argv[3] ?? '') as FlusherWorkerOptions;
  const connection = await connect(location);
  const redis = new Redis(o.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
  await redis.connect();
  const pause = async (where: string) => {
    if (o.pauseMs <= 0) return;
    say(where);
    await sleep(o.pauseMs);
  };
  const flusher = new ClickFlusher(redis, new KyselyClickFlushes(connection.db, location.dialect), systemClock, {
    prefix: o.prefix,
    intervalMs: o.intervalMs,
    leaseTtlMs: o.leaseTtlMs,
    faults: {
      afterRename: () => pause('renamed'),
      beforeCommit: () => pause('writing'),
      afterCommit: () => pause('committed'),
    },
    onFlushed: (f) => say(`flushed ${f.id} ${f.applied} ${f.clicks}`),
    onError: (err) => process.stderr.write(`flush failed: ${String(err)}\n`),
  });
  process.once('SIGTERM', () => {
    void flusher.close().finally(async () => {
      redis.disconnect();
      await connection.close();
      say('closed');
      process.exit(0);
    });
  });
  flusher.start();
  say('started');
}

await main();

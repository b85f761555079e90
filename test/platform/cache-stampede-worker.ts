/**
 * Child process of cache-stampede.test.ts: one "server" asking for one cold key N times at
 * once. With a Redis URL it goes through the StampedeGuard (singleflight + Redis lease);
 * without, through cache-aside with singleflight only, as tny does without Redis.
 *
 * Protocol: prints "ready" once set up, waits for "go" on stdin (so all workers start
 * together), then prints one JSON line: { loads, values }.
 */
import { Redis } from 'ioredis';
import { createInterface } from 'node:readline';
import { LocalCache } from '../../src/platform/cache/local-cache.js';
import { RedisGuardStore } from '../../src/platform/cache/redis-guard-store.js';
import { Singleflight } from '../../src/platform/cache/singleflight.js';
import { StampedeGuard } from '../../src/platform/cache/stampede-guard.js';
import { systemClock } from '../../src/platform/clock.js';

export interface StampedeTask {
  redisUrl: string | null;
  prefix: string;
  key: string;
  requests: number;
  /** How long the simulated database load takes. */
  loadMs: number;
}

const task = JSON.parse(process.argv[2] ?? '') as StampedeTask;
let loads = 0;
const load = async (key: string) => {
  loads++;
  await new Promise((r) => setTimeout(r, task.loadMs));
  return `value of ${key}`;
};

let get: (key: string) => Promise<string>;
let redis: Redis | undefined;
if (task.redisUrl) {
  redis = new Redis(task.redisUrl, { maxRetriesPerRequest: 1 });
  await redis.ping();
  const guard = new StampedeGuard<string>({
    store: new RedisGuardStore<string>(redis, task.prefix),
    load,
    clock: systemClock,
    ttlMs: () => 60_000,
    staleMs: 10_000,
    leaseTtlMs: 2_000,
    beta: 1,
  });
  get = async (key) => (await guard.get(key)).value;
} else {
  const l1 = new LocalCache<string>({ max: 100 });
  const flight = new Singleflight<string, string>();
  get = async (key) =>
    l1.get(key) ??
    flight.do(key, async () => {
      const value = await load(key);
      l1.set(key, value, 60_000);
      return value;
    });
}

const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
for await (const line of lines) {
  if (line.trim() !== 'go') continue;
  const values = await Promise.all(Array.from({ length: task.requests }, () => get(task.key)));
  process.stdout.write(`${JSON.stringify({ loads, values: [...new Set(values)], answered: values.length })}\n`);
  break;
}
lines.close();
redis?.disconnect();

/**
 * Child process for the queue's cross-process contract test on BullMQ: connects to the Redis
 * in argv[2] with key prefix argv[3], waits until argv[5] (epoch ms) so all processes start
 * together, then leases batches from queue argv[4] without acking (a long visibility) until it
 * gets none, and prints the leased job ids as JSON.
 */
import { Redis } from 'ioredis';
import { BullmqQueue } from '../../src/adapters/bullmq/bullmq-queue.js';

const [url, prefix, name, startAt] = process.argv.slice(2) as [string, string, string, string];
const redis = new Redis(url, { maxRetriesPerRequest: null });
const queue = new BullmqQueue(redis, { prefix });
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
const ids: string[] = [];
for (;;) {
  const jobs = await queue.lease(name, { max: 3, visibilityMs: 600_000 });
  if (jobs.length === 0) break;
  ids.push(...jobs.map((j) => j.id));
}
await queue.close();
await redis.quit();
process.stdout.write(JSON.stringify(ids));

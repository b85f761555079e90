/**
 * Child process for the BullMQ crash test: a tny container on PostgreSQL (argv[2]) with the
 * BullMQ queue on Redis (argv[3], key prefix argv[4]) whose only job is delivering
 * (NOTIFY_WORKERS = argv[5] deliveries in flight, webhook channel to the test's receiver). The test kills it with SIGKILL at
 * random points and starts another.
 */
import { loadConfig } from '../../src/config/config.js';
import { createContainer } from '../../src/main/container.js';
import { createLogger } from '../../src/main/logger.js';

const [databaseUrl, redisUrl, prefix, inFlight] = process.argv.slice(2) as [string, string, string, string];
if (!/^[1-9]\d*$/.test(inFlight ?? '')) throw new Error('usage: bullmq-crash-worker.ts DATABASE_URL REDIS_URL PREFIX IN_FLIGHT');
const config = loadConfig({
  DATABASE_URL: databaseUrl,
  REDIS_URL: redisUrl,
  QUEUE: 'bullmq',
  QUEUE_REDIS_PREFIX: prefix,
  BASE_URL: 'http://tny.test',
  LOG_LEVEL: 'silent',
  CLICK_FLUSH_INTERVAL_MS: '60000',
  NOTIFY_WEBHOOK_SECRET: 'whsec_c2VjcmV0',
  NOTIFY_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
  NOTIFY_WORKERS: inFlight,
  NOTIFY_LEASE_MS: '3000', // above any stall under CI load: a live worker stalled past its lease is the other way to send twice
  NOTIFY_RETRY_BASE_MS: '50',
  NOTIFY_MAX_ATTEMPTS: '100',
});
const container = await createContainer(config, createLogger('silent'));
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void container.lifecycle.close().then(() => process.exit(0));
});

import type { Logger } from 'pino';
import { ClickFlusher } from '../adapters/redis/click-flusher.js';
import type { RedisHandle } from '../adapters/redis/open-redis.js';
import { RedisClickCounter } from '../adapters/redis/redis-click-counter.js';
import { KyselyClickFlushes } from '../adapters/sql/kysely-click-flushes.js';
import { ShardedClickFlushes } from '../adapters/sharding/sharded-click-flushes.js';
import type { OpenedDatabase } from '../adapters/sql/open-database.js';
import type { Config } from '../config/config.js';
import type { Metrics } from '../http/metrics.js';
import type { Clock } from '../platform/clock.js';
import type { Lifecycle } from '../platform/lifecycle.js';
import type { ClickRecorder } from '../shortener/click-recorder.js';

/**
 * CLICK_COUNTER=redis (ADR 7): redirects count into Redis, `fallback` (the embedded recorder)
 * takes what Redis refuses, and this process competes for the flusher lease, whatever its role:
 * only the holder works, and clicks are flushed even where no worker runs (docs/scale-out.md).
 * The flusher is
 * registered before the counter, so shutdown closes the counter first (its last batch reaches
 * Redis) and then the flusher (a last flush if it holds the lease).
 */
export function redisClickCounting(
  config: Config,
  database: OpenedDatabase,
  redis: RedisHandle | undefined,
  fallback: ClickRecorder,
  clock: Clock,
  logger: Logger,
  lifecycle: Lifecycle,
  metrics: () => Metrics,
): RedisClickCounter {
  if (!redis) throw new Error('CLICK_COUNTER=redis needs REDIS_URL');
  const counter = new RedisClickCounter(redis.redis, fallback, clock, {
    prefix: config.CLICK_REDIS_PREFIX,
    maxInFlight: config.CLICK_REDIS_MAX_IN_FLIGHT,
    reportIntervalMs: 10_000,
    onFailure: (err, failures) => {
      logger.warn({ err, failures }, 'Redis did not take click batches; they are counted locally (written to the database directly)');
    },
  });
  const target = database.shards ? new ShardedClickFlushes(database.shards) : new KyselyClickFlushes(database.db, database.dialect);
  const flusher = new ClickFlusher(redis.redis, target, clock, {
    prefix: config.CLICK_REDIS_PREFIX,
    intervalMs: config.CLICK_FLUSH_INTERVAL_MS,
    leaseTtlMs: config.CLICK_REDIS_LEASE_TTL_MS,
    onError: (err) => {
      metrics().clickFlushErrors.inc();
      logger.error({ err }, 'click flush from Redis failed; the flushing key is kept and finished by the next flush');
    },
  });
  lifecycle.add('click flusher', flusher);
  flusher.start();
  return counter;
}

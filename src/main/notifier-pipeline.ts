import type { Logger } from 'pino';
import { BullmqQueue } from '../adapters/bullmq/bullmq-queue.js';
import { channelsFromConfig } from '../adapters/channels/channels-from-config.js';
import { ShardedDeliveryLedger } from '../adapters/sharding/sharded-delivery-ledger.js';
import { KyselyDeliveryLedger } from '../adapters/sql/kysely-delivery-ledger.js';
import { groupCommitFor } from '../adapters/sqlite/group-commit.js';
import { SqliteDeliveryLedger } from '../adapters/sqlite/sqlite-delivery-ledger.js';
import { SqliteQueue } from '../adapters/sqlite/sqlite-queue.js';
import type { Config } from '../config/config.js';
import { ConfigError } from '../config/fields.js';
import type { ChannelName } from '../notifier/channel-names.js';
import type { Channel } from '../notifier/channels/channel.js';
import { startDeliveryWorkers } from '../notifier/notifications/delivery-worker.js';
import { requeueUnfinished, type PipelineContext } from '../notifier/notifications/send.js';
import type { DeliveryLedger } from '../notifier/notifications/ledger.js';
import type { Clock } from '../platform/clock.js';
import type { Queue } from '../platform/queue/types.js';
import type { Backoff } from '../platform/resilience/backoff.js';
import { exponentialBackoff } from '../platform/resilience/backoff.js';
import { circuitBreaker } from '../platform/resilience/circuit-breaker.js';
import { BrokenCircuitError } from '../platform/resilience/errors.js';
import type { Policy, PolicyFn } from '../platform/resilience/policy.js';
import { timeout } from '../platform/resilience/timeout.js';
import { wrap } from '../platform/resilience/wrap.js';
import type { Container } from './container.js';

/** Leases a delivery may spend refused by its channel's open breaker, on top of NOTIFY_MAX_ATTEMPTS. */
const BREAKER_WAIT_LEASES = 1000;

/**
 * The send pipeline's wiring: the durable queue chosen by QUEUE with a delivery ledger on the
 * database, the configured channels (plus the container's in-app channel when it has one), and
 * NOTIFY_WORKERS in-process delivery workers per channel, closed before the database.
 * QUEUE=sqlite: the queue on the same SQLite connection as the ledger, sharing its group commit
 * (on PostgreSQL there is no SQL queue: the send API is not served). QUEUE=bullmq: BullMQ on
 * REDIS_URL, with the Kysely ledger on PostgreSQL (one per shard with DATABASE_SHARDS, routed by
 * the ring position in the notification id: ADR 10) or the SQLite ledger on SQLite.
 */
export function attachNotifierPipeline(container: Container, config: Config, logger: Logger, clock: Clock): void {
  const { notifier } = container;
  const retryBackoff = exponentialBackoff({ jitter: 'equal', baseMs: config.NOTIFY_RETRY_BASE_MS, capMs: 600_000 });
  const store = notifier && queueAndLedger(container, config, clock, retryBackoff);
  if (!notifier || !store) {
    logger.info('notification sending needs a queue: QUEUE=sqlite on SQLite, or QUEUE=bullmq with REDIS_URL; POST /api/v1/notifications is not served');
    return;
  }
  const { queue, ledger } = store;
  // A job's maxAttempts caps its leases, not its provider calls: a delivery waiting on an open
  // breaker is leased (and refused) once or twice per open period without calling the provider.
  // The worker dead-letters it after NOTIFY_MAX_ATTEMPTS provider calls; the ceiling only stops
  // a job that never reaches the provider (about 2 days of a 5-minute breaker at the default).
  const ctx: PipelineContext = {
    ...notifier,
    ledger,
    queue,
    maxAttempts: config.NOTIFY_MAX_ATTEMPTS + BREAKER_WAIT_LEASES,
  };
  container.notifications = ctx;
  if (config.NOTIFY_WORKERS === 0) {
    container.lifecycle.add('notification queue', queue);
    return;
  }
  const configured = channelsFromConfig(config, { clock });
  const channels = new Map<ChannelName, Channel>(configured.channels);
  channels.set('in_app', container.inAppChannel);
  const policies = new Map<ChannelName, Policy>();
  const policyFor = (channel: ChannelName): Policy => {
    let p = policies.get(channel);
    if (!p) {
      const breaker = circuitBreaker({
        clock,
        consecutiveFailures: config.NOTIFY_BREAKER_FAILURES,
        openMs: config.NOTIFY_BREAKER_OPEN_MS,
        maxOpenMs: config.NOTIFY_BREAKER_MAX_OPEN_MS,
      });
      breaker.on((e) => {
        if (e.type !== 'state-change') return;
        if (e.to === 'open') logger.warn({ channel, reason: e.reason }, 'circuit breaker opened: calls to this channel wait for it');
        else if (e.to === 'closed') logger.info({ channel }, 'circuit breaker closed: the channel is sending again');
      });
      p = spreadRefusals(wrap(breaker, timeout(config.NOTIFY_SEND_TIMEOUT_MS)));
      policies.set(channel, p);
    }
    return p;
  };
  // Closed in reverse order: workers first (in-flight sends finish or go back to the queue), then the queue and channels.
  container.lifecycle.add('notification channels', configured);
  container.lifecycle.add('notification queue', queue);
  requeueUnfinished(ctx).then(
    (n) => n > 0 && logger.info({ deliveries: n }, 'unfinished deliveries re-queued (deduped by delivery id)'),
    (err: unknown) => logger.error({ err }, 're-queueing unfinished deliveries failed; they wait for the next start'),
  );
  container.lifecycle.add(
    'notification workers',
    startDeliveryWorkers(ctx, {
      channels,
      policyFor,
      concurrency: config.NOTIFY_WORKERS,
      visibilityMs: config.NOTIFY_LEASE_MS,
      breakerFallbackMs: config.NOTIFY_BREAKER_FALLBACK_MS,
      maxAttempts: config.NOTIFY_MAX_ATTEMPTS,
      retryBackoff,
      onError: (err) => logger.warn({ err }, 'delivery worker'),
    }),
  );
}

/** QUEUE=bullmq needs REDIS_URL: checked when the container is made, before anything opens. */
export function checkQueueConfig(config: Config): void {
  if (config.QUEUE === 'bullmq' && !config.REDIS_URL) {
    throw new ConfigError('invalid configuration:\n  QUEUE=bullmq needs REDIS_URL (the Redis that BullMQ keeps the queue in)');
  }
}

/** The queue chosen by QUEUE and the ledger that goes with it; undefined when there is none (QUEUE=sqlite on PostgreSQL). */
function queueAndLedger(container: Container, config: Config, clock: Clock, backoff: Backoff): { queue: Queue; ledger: DeliveryLedger } | undefined {
  const { database, redis, lifecycle } = container;
  const options = { clock, maxAttempts: config.NOTIFY_MAX_ATTEMPTS, backoff };
  if (config.QUEUE === 'bullmq') {
    if (!redis) throw new ConfigError('invalid configuration:\n  QUEUE=bullmq needs REDIS_URL');
    // Its own connection: queue commands wait through a short Redis blip (offline queue) rather
    // than failing at once like the cache's and limiters' client.
    const client = redis.redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: 3 });
    client.on('error', () => undefined);
    lifecycle.add('notification queue redis', { close: () => client.quit().then(() => undefined, () => client.disconnect()) });
    const queue = new BullmqQueue(client, { ...options, prefix: config.QUEUE_REDIS_PREFIX });
    const ledger = database.sqlite
      ? new SqliteDeliveryLedger(database.db, database.sqlite, groupCommitFor(database.db, database.sqlite))
      : database.shards
        ? new ShardedDeliveryLedger(database.shards)
        : new KyselyDeliveryLedger(database.db, database.dialect);
    return { queue, ledger };
  }
  if (!database.sqlite) return undefined;
  // The queue and the ledger share one group commit: a turn's claims, marks and acks are one commit.
  const writes = groupCommitFor(database.db, database.sqlite);
  const queue = new SqliteQueue(database.db, database.sqlite, { groupCommit: writes, ...options });
  return { queue, ledger: new SqliteDeliveryLedger(database.db, database.sqlite, writes) };
}

/**
 * Adds up to a tenth of the wait (at most 1 s) at random to an open breaker's retryAfterMs.
 * The deliveries it refused then come back spread out: the next probe falls to a random one,
 * not to the one whose refusal was written first each round (without this the delivery that
 * carried a failed probe, nacked alone, was first again and spent its attempts on every
 * probe), and the backlog does not return in one burst.
 */
function spreadRefusals(inner: Policy): Policy {
  return {
    _alt: undefined as never,
    async execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T> {
      try {
        return await inner.execute(fn, signal);
      } catch (err) {
        if (err instanceof BrokenCircuitError && err.retryAfterMs > 0) {
          throw new BrokenCircuitError(err.state, err.retryAfterMs + Math.random() * Math.min(1000, err.retryAfterMs / 10));
        }
        throw err;
      }
    },
  };
}

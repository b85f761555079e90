import type { Logger } from 'pino';
import { channelsFromConfig } from '../adapters/channels/channels-from-config.js';
import { KyselyDeliveryLedger } from '../adapters/sql/kysely-delivery-ledger.js';
import { SqliteQueue } from '../adapters/sqlite/sqlite-queue.js';
import type { Config } from '../config/config.js';
import type { ChannelName } from '../notifier/channel-names.js';
import type { Channel } from '../notifier/channels/channel.js';
import { startDeliveryWorkers } from '../notifier/notifications/delivery-worker.js';
import { requeueUnfinished, type PipelineContext } from '../notifier/notifications/send.js';
import type { Clock } from '../platform/clock.js';
import { exponentialBackoff } from '../platform/resilience/backoff.js';
import { circuitBreaker } from '../platform/resilience/circuit-breaker.js';
import type { Policy } from '../platform/resilience/policy.js';
import { timeout } from '../platform/resilience/timeout.js';
import { wrap } from '../platform/resilience/wrap.js';
import type { Container } from './container.js';

/**
 * The send pipeline's wiring: on SQLite, the durable queue on the same connection as the
 * ledger, the configured channels (plus the container's in-app channel when it has one), and
 * NOTIFY_WORKERS in-process delivery workers per channel, closed before the database. On
 * PostgreSQL there is no queue adapter yet (BullMQ is issue 5): the send API is not served.
 */
export function attachNotifierPipeline(container: Container, config: Config, logger: Logger, clock: Clock): void {
  const { database, notifier } = container;
  if (!database.sqlite || !notifier) {
    logger.info('notification sending needs the SQLite queue; POST /api/v1/notifications is not served on PostgreSQL yet');
    return;
  }
  const queue = new SqliteQueue(database.db, database.sqlite, {
    clock,
    maxAttempts: config.NOTIFY_MAX_ATTEMPTS,
    backoff: exponentialBackoff({ jitter: 'equal', baseMs: config.NOTIFY_RETRY_BASE_MS, capMs: 600_000 }),
  });
  const ctx: PipelineContext = { ...notifier, ledger: new KyselyDeliveryLedger(database.db, database.dialect), queue, maxAttempts: config.NOTIFY_MAX_ATTEMPTS };
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
      p = wrap(circuitBreaker({ clock, consecutiveFailures: 5, openMs: 30_000 }), timeout(config.NOTIFY_SEND_TIMEOUT_MS));
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
      onError: (err) => logger.warn({ err }, 'delivery worker'),
    }),
  );
}

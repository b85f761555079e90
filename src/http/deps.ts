import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { NotifierContext } from '../notifier/context.js';
import type { PipelineContext } from '../notifier/notifications/send.js';
import type { InboxRouteDeps } from './routes/notifier-inbox.js';
import type { Authenticator } from '../platform/auth/authenticator.js';
import type { AccountStore } from '../platform/auth/ports.js';
import type { Clock } from '../platform/clock.js';
import type { SagaRunner } from '../platform/saga/runner.js';
import type { HealthCheck } from '../platform/health/health.js';
import type { IdempotencyStore } from '../platform/idempotency/ports.js';
import type { RateLimiter } from '../platform/rate-limit/types.js';
import type { ShortenerContext } from '../shortener/context.js';
import type { Metrics } from './metrics.js';

export interface Limiters {
  /** API writes, per client IP. */
  writeIp: RateLimiter;
  /** API writes, per API key. */
  writeKey: RateLimiter;
  /** Redirects per client IP; absent when redirects are not limited. */
  redirectIp?: RateLimiter;
  /** Password attempts per (link, client IP). */
  password: RateLimiter;
}

/** Everything the HTTP driver needs; built by main/, or by tests with in-memory parts. */
export interface AppDeps {
  config: Config;
  logger: Logger;
  shortener: ShortenerContext;
  auth: Authenticator;
  idempotency: IdempotencyStore;
  limiters: Limiters;
  health: readonly HealthCheck[];
  metrics: Metrics;
  /** The notifier's configuration API (recipients, preferences, categories, templates); absent: not served. */
  notifier?: NotifierContext;
  /** The send pipeline (POST /api/v1/notifications, deliveries); absent: not served. */
  notifications?: PipelineContext;
  /** The in-app inbox API and its live stream; absent: not served. */
  inbox?: InboxRouteDeps;
  /** Account deletion (DELETE /api/v1/accounts/{id}) and saga runs (GET /api/v1/sagas/{id}); absent: not served. */
  accountAdmin?: { sagas: SagaRunner; accounts: Pick<AccountStore, 'findAccountById' | 'findAccountByName'>; clock: Clock; unavailable?: () => string | undefined };
}

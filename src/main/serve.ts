import { mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import { ConfigError } from '../config/fields.js';
import { buildApp } from '../http/app.js';
import { buildWorkerApp } from '../http/worker-app.js';
import { ensureAdminKey } from '../platform/auth/manage-keys.js';
import { createContainer, type Container } from './container.js';
import { createLogger } from './logger.js';
import { roleHealthChecks } from './role-health.js';
import { roleConfig, runsWorkers, servesApi, type Role } from './roles.js';
import { asConfigError, checkDependencies } from './startup-checks.js';

const IDEMPOTENCY_PURGE_MS = 10 * 60 * 1000;

/**
 * `tny serve --role api|worker|all` (default TNY_ROLE, `all`): `api` serves the API and
 * redirects and enqueues notifications; `worker` delivers them and runs the background jobs,
 * answering only health and metrics on PORT; `all` is both in one process. Configured
 * databases and Redis must answer before anything starts (one-line error, exit 2). Shuts down
 * gracefully on SIGTERM/SIGINT: stops accepting, drains in-flight requests, flushes buffered
 * clicks, closes the database.
 */
export async function serve(baseConfig: Config, role: Role = baseConfig.TNY_ROLE): Promise<void> {
  const config = roleConfig(baseConfig, role);
  const logger = createLogger(config.LOG_LEVEL);
  await checkDependencies(config);
  if (!config.DATABASE_URL && config.DATABASE_SHARDS.length === 0) mkdirSync(config.DATA_DIR, { recursive: true });
  let container: Container;
  try {
    container = await createContainer(config, logger);
  } catch (err) {
    throw asConfigError(err);
  }
  if (role === 'worker' && !container.notifications) {
    await container.lifecycle.close();
    throw new ConfigError('--role worker: there is nothing to deliver here: notification delivery needs a queue (the SQLite queue, or on PostgreSQL QUEUE=bullmq with REDIS_URL)');
  }
  container.health = [...container.health, ...roleHealthChecks(container, role)];

  let app: FastifyInstance;
  if (servesApi(role)) {
    const adminKey = await ensureAdminKey(container.accounts, Date.now(), config.ADMIN_KEY_NAME);
    if (adminKey) {
      // Printed once, to the terminal only, never through the logger.
      process.stdout.write(`\ntny: created the admin API key (shown only now, store it safely):\n\n  ${adminKey}\n\n`);
    }
    app = await buildApp(container);
  } else {
    app = await buildWorkerApp(container);
  }
  container.lifecycle.add('http server', { close: () => app.close() });

  if (runsWorkers(role)) {
    const purge = setInterval(() => {
      container.idempotency.purgeExpired(Date.now()).catch((err: unknown) => logger.warn({ err }, 'idempotency purge failed'));
    }, IDEMPOTENCY_PURGE_MS);
    purge.unref();
    container.lifecycle.add('idempotency purge', { close: () => clearInterval(purge) });
  }

  if (runsWorkers(role) && config.SAGA_RESUME_AT_START) {
    // In the background: an import or account deletion cut off by a crash continues here.
    void container.sagas.runner
      .resume()
      .then((runs) => {
        if (runs.length > 0) logger.info({ runs: runs.map((r) => ({ id: r.id, saga: r.name, state: r.state })) }, 'resumed unfinished saga runs');
      })
      .catch((err: unknown) => logger.error({ err }, 'resuming unfinished saga runs failed; `tny sagas resume` retries'));
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    force.unref();
    void container.lifecycle.close().then((errors) => {
      for (const err of errors) logger.error({ err }, 'shutdown step failed');
      logger.flush();
      process.exit(errors.length > 0 ? 1 : 0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  const address = await app.listen({ host: config.HOST, port: config.PORT });
  logger.info(
    { address, role, base_url: config.BASE_URL, database: container.database.dialect, delivery_workers: config.NOTIFY_WORKERS },
    role === 'worker' ? 'tny worker is running (health and metrics only on this port)' : 'tny is listening',
  );
}

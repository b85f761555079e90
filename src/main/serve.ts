import { mkdirSync } from 'node:fs';
import type { Config } from '../config/config.js';
import { buildApp } from '../http/app.js';
import { ensureAdminKey } from '../platform/auth/manage-keys.js';
import { createContainer } from './container.js';
import { createLogger } from './logger.js';

const IDEMPOTENCY_PURGE_MS = 10 * 60 * 1000;

/**
 * `tny serve`: one process with every role. Shuts down gracefully on SIGTERM/SIGINT: stops
 * accepting, drains in-flight requests, flushes buffered clicks, closes the database.
 */
export async function serve(config: Config): Promise<void> {
  const logger = createLogger(config.LOG_LEVEL);
  if (!config.DATABASE_URL) mkdirSync(config.DATA_DIR, { recursive: true });
  const container = await createContainer(config, logger);
  const adminKey = await ensureAdminKey(container.accounts, Date.now(), config.ADMIN_KEY_NAME);
  if (adminKey) {
    // Printed once, to the terminal only, never through the logger.
    process.stdout.write(`\ntny: created the admin API key (shown only now, store it safely):\n\n  ${adminKey}\n\n`);
  }

  const app = await buildApp(container);
  container.lifecycle.add('http server', { close: () => app.close() });

  const purge = setInterval(() => {
    container.idempotency.purgeExpired(Date.now()).catch((err: unknown) => logger.warn({ err }, 'idempotency purge failed'));
  }, IDEMPOTENCY_PURGE_MS);
  purge.unref();
  container.lifecycle.add('idempotency purge', { close: () => clearInterval(purge) });

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
  logger.info({ address, base_url: config.BASE_URL, database: container.database.dialect }, 'tny is listening');
}

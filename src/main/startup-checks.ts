import { Redis } from 'ioredis';
import pg from 'pg';
import type { Config } from '../config/config.js';
import { ConfigError } from '../config/fields.js';

/** How long a start-up check waits for a database or Redis to answer. */
const CONNECT_TIMEOUT_MS = 5000;

/** host:port/database of a URL, never its user or password. */
export function describeUrl(raw: string): string {
  try {
    const u = new URL(raw);
    return `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname.length > 1 ? u.pathname : ''}`;
  } catch {
    return 'an unparsable URL';
  }
}

function reason(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const text = (e?.message ?? String(err)).split('\n')[0]!;
  return e?.code && !text.includes(e.code) ? `${e.code}: ${text}` : text;
}

async function checkPostgres(variable: string, url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    throw new ConfigError(`${variable}: cannot reach PostgreSQL at ${describeUrl(url)} (${reason(err)})`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function checkRedis(url: string): Promise<void> {
  let firstError: unknown;
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on('error', (err) => (firstError ??= err));
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new ConfigError(`REDIS_URL: cannot reach Redis at ${describeUrl(url)} (${reason(firstError ?? err)})`);
  } finally {
    redis.disconnect();
  }
}

/**
 * Before anything is wired: every configured database and Redis answers, so an unreachable
 * one fails the start with one line naming the variable (tny exits 2), instead of a stack
 * trace from deep in the wiring or a process that starts and then fails every request.
 * Passwords never appear in the message.
 */
export async function checkDependencies(config: Config): Promise<void> {
  const checks: Promise<void>[] = [];
  if (config.DATABASE_URL) checks.push(checkPostgres('DATABASE_URL', config.DATABASE_URL));
  config.DATABASE_SHARDS.forEach((url, i) => checks.push(checkPostgres(`DATABASE_SHARDS (entry ${i}, s${i})`, url)));
  if (config.REDIS_URL) checks.push(checkRedis(config.REDIS_URL));
  const results = await Promise.allSettled(checks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * An error thrown while wiring whose message starts by naming a setting (`CACHE_BLOOM=on needs
 * REDIS_URL…`, `NOTIFY_DEFAULT_LOCALE: …`, `DATABASE_SHARDS: …`) is a configuration problem:
 * reported as one line and exit 2, like the registry's own checks.
 */
export function asConfigError(err: unknown): unknown {
  if (err instanceof ConfigError || !(err instanceof Error)) return err;
  if (!/^[A-Z][A-Z0-9_]{2,}[:= (]/.test(err.message)) return err;
  return new ConfigError(err.message.split('\n')[0]!);
}

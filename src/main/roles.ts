import type { Config } from '../config/config.js';
import { ConfigError } from '../config/fields.js';

/** What one `tny serve` process runs (issue 5, chapter §1: stateless api processes plus workers). */
export type Role = 'api' | 'worker' | 'all';

export const ROLES: readonly Role[] = ['api', 'worker', 'all'];

export function parseRole(raw: string): Role {
  const role = ROLES.find((r) => r === raw.trim());
  if (!role) throw new ConfigError(`--role: must be one of ${ROLES.join(', ')}, got "${raw}"`);
  return role;
}

/** Whether the role answers the API and redirects (else only health and metrics). */
export function servesApi(role: Role): boolean {
  return role !== 'worker';
}

/** Whether the role runs delivery workers and the background jobs (purges, re-queueing, flushes). */
export function runsWorkers(role: Role): boolean {
  return role !== 'api';
}

/**
 * The configuration a role runs with: the role itself in TNY_ROLE (shown by /health/detailed),
 * and the settings that switch off what the role does not run, decided here before the
 * container is wired so no module needs to know about roles:
 * - api: NOTIFY_WORKERS=0 (the pipeline accepts and enqueues, the workers deliver);
 * - worker: CLICK_COMPACT_INTERVAL_MS=0: it serves no redirects, so it records no clicks and must
 *   not take the SQLite click journal's lease away from the api process that records them.
 */
export function roleConfig(config: Config, role: Role): Config {
  const overrides: Partial<Record<keyof Config, unknown>> = { TNY_ROLE: role };
  if (!runsWorkers(role)) overrides.NOTIFY_WORKERS = 0;
  if (!servesApi(role)) overrides.CLICK_COMPACT_INTERVAL_MS = 0;
  return Object.freeze({ ...config, ...overrides }) as Config;
}

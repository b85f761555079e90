import { ConfigError, type Field } from './fields.js';
import { registry, type Registry } from './registry.js';

type Parsed<R> = { readonly [K in keyof R]: R[K] extends Field<infer T> ? T : never };

export type Config = Parsed<Registry> & { readonly BASE_URL: string };

/**
 * Reads and validates every variable once. Invalid values fail here, naming the variable,
 * so a misconfigured tny never starts. The result is frozen.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, f] of Object.entries(registry) as [string, Field<unknown>][]) {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      out[name] = f.default;
      continue;
    }
    try {
      out[name] = f.parse(raw);
    } catch (err) {
      problems.push(`${name} ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  if (out.BASE_URL === undefined) {
    const host = out.HOST === '0.0.0.0' || out.HOST === '::' ? '127.0.0.1' : String(out.HOST);
    out.BASE_URL = `http://${host.includes(':') ? `[${host}]` : host}:${String(out.PORT)}`;
  }
  if ((out.HEALTH_DISK_FAIL_MB as number) > (out.HEALTH_DISK_WARN_MB as number)) {
    throw new ConfigError('invalid configuration:\n  HEALTH_DISK_FAIL_MB must not exceed HEALTH_DISK_WARN_MB');
  }
  if ((out.NOTIFY_BREAKER_OPEN_MS as number) > (out.NOTIFY_BREAKER_MAX_OPEN_MS as number)) {
    throw new ConfigError('invalid configuration:\n  NOTIFY_BREAKER_OPEN_MS must not exceed NOTIFY_BREAKER_MAX_OPEN_MS');
  }
  return Object.freeze(out) as unknown as Config;
}

/** The README table: one row per variable. */
export function renderConfigTable(): string {
  const rows = Object.entries(registry).map(([name, f]) => {
    const field = f as Field<unknown>;
    const def = field.shownDefault === '' ? '—' : `\`${field.shownDefault}\``;
    return `| \`${name}\` | ${field.kind} | ${def} | ${field.doc} |`;
  });
  return ['| variable | type | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

import type { CheckResult, CheckStatus, HealthCheck } from './health.js';

export interface PingCheckOptions {
  /** What a failed or slow ping reports: `unhealthy` (default) or `warning` (tny works on without it). */
  whenDown?: Exclude<CheckStatus, 'healthy'>;
  /** Extra fields of the check's entry (e.g. `{ engine: 'postgres', role: 'replica', shard: 's1' }`). */
  details?: Record<string, unknown>;
}

/**
 * One dependency as a named health check in one line: `ping` is the cheapest round trip to it
 * (`select 1`, Redis PING). Reports `{ status, latency_ms, ...details }`, or on failure the
 * error's class or code only (messages can carry connection strings). Subsystems contribute
 * theirs to the container's `health` list, e.g.
 * `health.push(...shards.map((s) => pingCheck(`database:${s.name}`, () => s.ping(), { details: { shard: s.name } })))`.
 */
export function pingCheck(name: string, ping: () => Promise<unknown>, options: PingCheckOptions = {}): HealthCheck {
  return {
    name,
    async check(): Promise<CheckResult> {
      const started = performance.now();
      try {
        await ping();
        return { status: 'healthy', latency_ms: elapsed(started), ...options.details };
      } catch (err) {
        const e = err as { code?: string };
        return {
          status: options.whenDown ?? 'unhealthy',
          latency_ms: elapsed(started),
          error: e?.code ?? (err instanceof Error ? err.name : 'error'),
          ...options.details,
        };
      }
    },
  };
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}

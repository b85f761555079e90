/** Health checks (chapter §3.3): each dependency reports healthy, warning or unhealthy. */
export type CheckStatus = 'healthy' | 'warning' | 'unhealthy';

export interface CheckResult {
  status: CheckStatus;
  [detail: string]: unknown;
}

export interface HealthCheck {
  name: string;
  check(): Promise<CheckResult>;
}

export interface HealthReport {
  status: 'healthy' | 'degraded' | 'unhealthy';
  /** One entry per check, by name, in the order the checks were registered. */
  checks: Record<string, CheckResult>;
}

/**
 * Runs one check bounded in time. Every answered check carries `latency_ms`: its own figure
 * (the dependency's round trip) when it gives one, else how long the check took. A check that
 * threw or timed out reports only `status` and `error` (a class or code).
 */
function withTimeout(check: HealthCheck, ms: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const started = performance.now();
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'unhealthy', error: `no answer within ${ms} ms` }), ms);
  });
  const run = check.check().then(
    (r): CheckResult => (typeof r.latency_ms === 'number' ? r : { ...r, latency_ms: Math.round((performance.now() - started) * 100) / 100 }),
    (err: unknown): CheckResult => ({
      status: 'unhealthy',
      // A class or code only: messages can carry connection strings.
      error: (err as { code?: string })?.code ?? (err instanceof Error ? err.name : 'error'),
    }),
  );
  return Promise.race([run, timeout]).finally(() => clearTimeout(timer));
}

/** Runs every check in parallel, each bounded in time; any unhealthy makes the whole unhealthy. */
export async function runHealthChecks(checks: readonly HealthCheck[], timeoutMs = 2000): Promise<HealthReport> {
  const results = await Promise.all(checks.map((c) => withTimeout(c, timeoutMs)));
  const report: HealthReport = { status: 'healthy', checks: {} };
  checks.forEach((c, i) => {
    const r = results[i]!;
    report.checks[c.name] = r;
    if (r.status === 'unhealthy') report.status = 'unhealthy';
    else if (r.status === 'warning' && report.status === 'healthy') report.status = 'degraded';
  });
  return report;
}

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
  checks: Record<string, CheckResult>;
}

function withTimeout(check: HealthCheck, ms: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'unhealthy', error: `no answer within ${ms} ms` }), ms);
  });
  const run = check.check().catch((err: unknown) => ({
    status: 'unhealthy' as const,
    // A class or code only: messages can carry connection strings.
    error: (err as { code?: string })?.code ?? (err instanceof Error ? err.name : 'error'),
  }));
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

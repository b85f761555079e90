import { describe, expect, it } from 'vitest';
import { runHealthChecks, type HealthCheck } from './health.js';
import { pingCheck } from './ping-check.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('health checks', () => {
  it('pingCheck: healthy with the round trip as latency_ms and its details', async () => {
    const r = await pingCheck('database:s1', () => sleep(30), { details: { shard: 's1', engine: 'postgres' } }).check();
    expect(r).toMatchObject({ status: 'healthy', shard: 's1', engine: 'postgres' });
    expect(r.latency_ms).toBeGreaterThanOrEqual(25);
    expect(r.latency_ms).toBeLessThan(500);
  });

  it('pingCheck: a failure reports its code or class only (never the message), unhealthy or as configured', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED postgres://u:hunter2@db/x'), { code: 'ECONNREFUSED' });
    const down = await pingCheck('database', () => Promise.reject(refused)).check();
    expect(down).toMatchObject({ status: 'unhealthy', error: 'ECONNREFUSED' });
    expect(JSON.stringify(down)).not.toContain('hunter2');
    const soft = await pingCheck('redis', () => Promise.reject(new TypeError('x')), { whenDown: 'warning' }).check();
    expect(soft).toMatchObject({ status: 'warning', error: 'TypeError' });
  });

  it('runHealthChecks: every answered check gets latency_ms; worst status wins; a hung check times out', async () => {
    const checks: HealthCheck[] = [
      { name: 'a', check: async () => ({ status: 'healthy' }) },
      { name: 'b', check: async () => ({ status: 'healthy', latency_ms: 7 }) },
      { name: 'c', check: async () => ({ status: 'warning' }) },
    ];
    const degraded = await runHealthChecks(checks);
    expect(degraded.status).toBe('degraded');
    expect(Object.keys(degraded.checks)).toEqual(['a', 'b', 'c']);
    expect(typeof degraded.checks.a!.latency_ms).toBe('number');
    expect(degraded.checks.b!.latency_ms).toBe(7);

    const hung: HealthCheck = { name: 'hung', check: () => new Promise(() => undefined) };
    const report = await runHealthChecks([...checks, hung], 50);
    expect(report.status).toBe('unhealthy');
    expect(report.checks.hung).toEqual({ status: 'unhealthy', error: 'no answer within 50 ms' });
  });
});

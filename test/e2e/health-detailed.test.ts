import { afterEach, describe, expect, it } from 'vitest';
import { buildWorkerApp } from '../../src/http/worker-app.js';
import { roleHealthChecks } from '../../src/main/role-health.js';
import { roleConfig } from '../../src/main/roles.js';
import { queueFor } from '../../src/notifier/notifications/ids.js';
import { pingCheck } from '../../src/platform/health/ping-check.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';

/** /health/detailed through inject: the role, the process, the queue, and contributed checks. */
let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

type Report = { status: string; role: string; checks: Record<string, Record<string, unknown>> };

describe('/health/detailed (inject)', () => {
  it('shows the role, this process, and the queue: depth per channel queue, dead letters as a warning', async () => {
    t = await makeTestApp({ NOTIFY_WORKERS: '0' });
    t.container.health = [...t.container.health, ...roleHealthChecks(t.container, 'all')];
    let res = await t.call('GET', '/health/detailed');
    let body = res.json<Report>();
    expect(res.statusCode).toBe(200);
    expect(body.role).toBe('all');
    expect(body.checks.process).toMatchObject({ status: 'healthy', role: 'all', pid: process.pid, delivery_workers: 0 });
    expect(body.checks.queue).toMatchObject({ status: 'healthy', adapter: 'SqliteQueue', depth: 0, dead: 0, queues: {} });

    const queue = t.container.notifications!.queue;
    await queue.enqueueBatch(queueFor('webhook'), [{ payload: 1 }, { payload: 2 }, { payload: 3, options: { delayMs: 60_000 } }]);
    await queue.enqueue(queueFor('email'), 'dies', { maxAttempts: 1 });
    const [job] = await queue.lease(queueFor('email'));
    await queue.nack(job!, { retryable: false, error: 'bounced' });
    res = await t.call('GET', '/health/detailed');
    body = res.json<Report>();
    expect(res.statusCode).toBe(200);
    expect(body.status).toBe('degraded');
    expect(body.checks.queue).toMatchObject({
      status: 'warning',
      depth: 3,
      dead: 1,
      queues: { 'notify.webhook': { ready: 2, delayed: 1, leased: 0, dead: 0 }, 'notify.email': { ready: 0, delayed: 0, leased: 0, dead: 1 } },
    });
    for (const [name, check] of Object.entries(body.checks)) expect(typeof check.latency_ms, name).toBe('number');
  });

  it('a check contributed in one line (a shard, a replica) is reported; an unhealthy one makes it 503', async () => {
    t = await makeTestApp();
    t.container.health = [
      ...t.container.health,
      pingCheck('database:s1', async () => undefined, { details: { shard: 's1' } }),
      pingCheck('database:s1:replica-0', () => Promise.reject(Object.assign(new Error('down'), { code: 'ECONNREFUSED' })), { details: { shard: 's1' } }),
    ];
    const res = await t.call('GET', '/health/detailed');
    const body = res.json<Report>();
    expect(res.statusCode).toBe(503);
    expect(body.status).toBe('unhealthy');
    expect(body.checks['database:s1']).toMatchObject({ status: 'healthy', shard: 's1' });
    expect(body.checks['database:s1:replica-0']).toMatchObject({ status: 'unhealthy', error: 'ECONNREFUSED', shard: 's1' });
  });

  it('the worker app: /health, /health/detailed (role worker) and /metrics; 404 for the API and redirects', async () => {
    t = await makeTestApp();
    const deps = { ...t.container, config: roleConfig(t.container.config, 'worker') };
    deps.health = [...deps.health, ...roleHealthChecks(deps, 'worker')];
    const app = await buildWorkerApp(deps);
    try {
      expect((await app.inject({ url: '/health' })).json()).toEqual({ status: 'ok' });
      const detailed = await app.inject({ url: '/health/detailed' });
      expect(detailed.statusCode).toBe(200);
      expect(detailed.json<Report>().role).toBe('worker');
      const metrics = await app.inject({ url: '/metrics' });
      expect(metrics.statusCode).toBe(200);
      expect(metrics.body).toMatch(/^# HELP tny_/m);
      for (const url of ['/api/v1/links', '/docs', '/openapi.json', '/abc123']) {
        const res = await app.inject({ url });
        expect(res.statusCode, url).toBe(404);
        expect(res.json<{ error: { code: string } }>().error.code).toBe('NOT_FOUND');
      }
    } finally {
      await app.close();
    }
  });
});

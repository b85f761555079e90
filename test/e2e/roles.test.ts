import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecordingServer, type RecordingServer } from '../channels/recording-server.js';
import { assertBuilt, freePort, killAll, spawnTny, type TnyProcess } from '../helpers/tny-process.js';

/**
 * `tny serve --role api` + `tny serve --role worker` on one SQLite DATA_DIR (the embedded way
 * to use two cores): the api process accepts notifications and runs no delivery workers, the
 * worker process delivers them (to a local webhook receiver) and answers only health and metrics.
 */
const TOKEN = /tny_[0-9A-Za-z]{12}_[0-9A-Za-z]{32}/;

interface Served extends TnyProcess {
  baseUrl: string;
}

async function serveRole(role: string, env: Record<string, string>): Promise<Served> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const proc = spawnTny(['serve', '--role', role], { ...env, HOST: '127.0.0.1', PORT: String(port), BASE_URL: baseUrl });
  let exited = false;
  void proc.exited.then(() => (exited = true));
  for (const deadline = Date.now() + 15_000; ; ) {
    if (exited) throw new Error(`tny serve --role ${role} exited:\n${proc.stdout()}\n${proc.stderr()}`);
    if (await fetch(`${baseUrl}/health`).then((r) => r.ok, () => false)) return { ...proc, baseUrl };
    if (Date.now() > deadline) throw new Error(`tny serve --role ${role} did not answer /health:\n${proc.stderr()}`);
    await sleep(25);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  for (const deadline = Date.now() + ms; !ok(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function detailed(server: Served): Promise<{ status: string; role: string; checks: Record<string, Record<string, unknown>> }> {
  const res = await fetch(`${server.baseUrl}/health/detailed`);
  expect(res.status).toBe(200);
  return (await res.json()) as never;
}

describe('roles: tny serve --role api + --role worker on one SQLite DATA_DIR (real processes)', () => {
  let root: string;
  let hook: RecordingServer;
  beforeAll(async () => {
    assertBuilt();
    root = mkdtempSync(join(tmpdir(), 'tny-roles-'));
    hook = await startRecordingServer();
  });
  afterAll(async () => {
    await killAll();
    await hook.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('the api process accepts, the worker process delivers; api runs no workers; the worker serves health and metrics only', async () => {
    const env = {
      DATA_DIR: join(root, 'data'),
      LOG_LEVEL: 'info',
      // Asked for, but --role api must still run none.
      NOTIFY_WORKERS: '4',
      NOTIFY_WEBHOOK_SECRET: 'whsec_c2VjcmV0',
      NOTIFY_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
      RATE_LIMIT_WRITE_BURST: '1000000',
      RATE_LIMIT_WRITE_PER_SECOND: '1000000',
    };
    const api = await serveRole('api', env);
    const adminKey = api.stdout().match(TOKEN)?.[0];
    expect(adminKey, api.stdout()).toBeDefined();
    let worker = await serveRole('worker', env);
    expect(worker.stdout()).not.toMatch(TOKEN);

    const headers = { authorization: `Bearer ${adminKey!}`, 'content-type': 'application/json' };
    const call = (server: Served, method: string, path: string, body?: unknown) =>
      fetch(`${server.baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    for (const [method, path, body] of [
      ['POST', '/api/v1/recipients', { id: 'r', contacts: [{ kind: 'webhook', address: `${hook.url}/r` }] }],
      ['POST', '/api/v1/categories', { name: 'roles', default_channels: ['webhook'] }],
      ['PUT', '/api/v1/templates/t/webhook/en', { body: 'n={{ n }}' }],
    ] as const) {
      const res = await call(api, method, path, body);
      expect(res.status, await res.clone().text()).toBeLessThan(300);
    }
    const notify = async (n: number): Promise<number> => {
      const res = await call(api, 'POST', '/api/v1/notifications', { recipient: 'r', category: 'roles', template: 't', data: { n } });
      expect(res.status, await res.clone().text()).toBe(202);
      return performance.now();
    };
    const delivered = () => hook.requests.filter((r) => r.path === '/r').length;

    // 1. Accepted by api, delivered by the worker: each within a fraction of a second
    // (the worker finds the api's commits through PRAGMA data_version, not a slow poll).
    const latencies: number[] = [];
    for (let n = 0; n < 10; n++) {
      const before = delivered();
      const acceptedAt = await notify(n);
      await until(`delivery of ${n}`, () => delivered() > before, 5000);
      latencies.push(performance.now() - acceptedAt);
    }
    latencies.sort((a, b) => a - b);
    console.log(`api → worker delivery after 202: median ${latencies[5]!.toFixed(1)} ms, max ${latencies[9]!.toFixed(1)} ms`);
    expect(latencies[9]).toBeLessThan(1000);

    // 2. Roles as /health/detailed shows them.
    const apiHealth = await detailed(api);
    expect(apiHealth.role).toBe('api');
    expect(apiHealth.checks.process).toMatchObject({ status: 'healthy', role: 'api', delivery_workers: 0 });
    const workerHealth = await detailed(worker);
    expect(workerHealth.role).toBe('worker');
    expect(workerHealth.checks.process).toMatchObject({ status: 'healthy', role: 'worker', delivery_workers: 4 });
    expect(workerHealth.checks.queue).toMatchObject({ status: 'healthy', dead: 0 });
    expect(workerHealth.checks.database).toMatchObject({ status: 'healthy', engine: 'sqlite' });

    // 3. The worker process: health and metrics only.
    expect((await fetch(`${worker.baseUrl}/health`)).status).toBe(200);
    const metrics = await fetch(`${worker.baseUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^# HELP /m);
    for (const [method, path] of [
      ['GET', '/api/v1/links'],
      ['POST', '/api/v1/notifications'],
      ['GET', '/docs'],
      ['GET', '/openapi.json'],
      ['GET', '/abc123'],
    ] as const) {
      const res = await call(worker, method, path, method === 'POST' ? {} : undefined);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    }
    // …while the api process serves redirects.
    const link = await call(api, 'POST', '/api/v1/links', { url: 'https://example.com/roles', alias: 'roles-link' });
    expect(link.status).toBe(201);
    expect((await fetch(`${api.baseUrl}/roles-link`, { redirect: 'manual' })).status).toBe(301);
    expect((await fetch(`${worker.baseUrl}/roles-link`, { redirect: 'manual' })).status).toBe(404);

    // 4. With the worker stopped nothing is delivered: the api process runs no workers. The
    // queue (seen from the api) holds the job until a worker starts again.
    worker.child.kill('SIGTERM');
    expect(await worker.waitExit(10_000)).toEqual({ code: 0, signal: null });
    const before = delivered();
    await notify(100);
    await sleep(1500);
    expect(delivered()).toBe(before);
    expect((await detailed(api)).checks.queue).toMatchObject({ depth: 1 });
    // A CLI command on the same DATA_DIR delivers nothing either (it wires the api role).
    const cli = spawnTny(['links', 'export'], env);
    expect((await cli.waitExit(15_000)).code, cli.stderr()).toBe(0);
    expect(cli.stdout()).toContain('roles-link');
    expect(delivered()).toBe(before);
    worker = await serveRole('worker', env);
    await until('delivery after the worker restarted', () => delivered() > before, 10_000);
    expect(delivered()).toBe(before + 1);

    // Both logged their role at start.
    expect(api.stdout()).toMatch(/"role":"api"/);
    expect(worker.stdout()).toMatch(/"role":"worker"/);
    api.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    expect(await api.waitExit(10_000)).toEqual({ code: 0, signal: null });
    expect(await worker.waitExit(10_000)).toEqual({ code: 0, signal: null });
  }, 50_000);
});

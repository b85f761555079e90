import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, TEST_BASE_URL, type TestApp } from '../helpers/app.js';
import { createLink, expectError } from './support.js';

/** Generous disk thresholds, so the disk check does not depend on this machine's free space. */
const DISK_OK = { HEALTH_DISK_WARN_MB: '0', HEALTH_DISK_FAIL_MB: '0' };

describe('health, metrics and docs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp(DISK_OK);
  });
  afterAll(() => t.close());

  it('/health answers 200 {status: ok} without touching dependencies', async () => {
    const res = await t.call('GET', '/health');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('/health/detailed reports every dependency healthy', async () => {
    const res = await t.call('GET', '/health/detailed');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toBe('healthy');
    expect(Object.keys(body.checks).sort()).toEqual(['cache', 'clicks', 'database', 'disk']);
    for (const [name, check] of Object.entries(body.checks as Record<string, { status: string }>)) {
      expect(check.status, name).toBe('healthy');
    }
    expect(body.checks.database.engine).toBe('sqlite');
    expect(body.checks.disk.free_mb).toBeGreaterThan(0);
  });

  it('/metrics is Prometheus text with redirect counts and API latency', async () => {
    const link = await createLink(t, t.adminKey, { url: 'https://example.com/metered' });
    for (let i = 0; i < 3; i++) expect((await t.call('GET', `/${link.key}`)).statusCode).toBe(301);
    expect((await t.call('GET', '/no-such-key')).statusCode).toBe(404);
    for (let i = 0; i < 2; i++) expect((await t.call('GET', '/api/v1/links', { key: t.adminKey })).statusCode).toBe(200);

    const res = await t.call('GET', '/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body;
    expect(text).toContain('# TYPE tny_redirects_total counter');
    expect(text).toMatch(/^tny_redirects_total\{outcome="redirect"\} 3$/m);
    expect(text).toMatch(/^tny_redirects_total\{outcome="missing"\} 1$/m);
    expect(text).toContain('# TYPE tny_http_request_duration_seconds histogram');
    expect(text).toMatch(/^tny_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/links",status="200"\} 2$/m);
    expect(text).toMatch(/^tny_http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/links",status="201"\} 1$/m);
    // Redirects are counted by outcome, not by (unbounded) path.
    expect(text).not.toContain(link.key);
  });

  it('/openapi.json is an OpenAPI 3 document with the link routes and their request schemas', async () => {
    const res = await t.call('GET', '/openapi.json');
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.servers).toEqual([{ url: TEST_BASE_URL }]);
    for (const path of ['/api/v1/links', '/api/v1/shorten']) {
      const schema = doc.paths[path]?.post?.requestBody?.content?.['application/json']?.schema;
      expect(schema, path).toBeDefined();
      expect(schema.required, path).toEqual(['url']);
      expect(Object.keys(schema.properties).sort(), path).toEqual(
        ['alias', 'disabled', 'expires_at', 'forward_query', 'max_clicks', 'password', 'redirect_status', 'tags', 'url'].sort(),
      );
      expect(schema.additionalProperties, path).toBe(false);
      expect(Object.keys(doc.paths[path].post.responses), path).toEqual(expect.arrayContaining(['201']));
    }
    const list = doc.paths['/api/v1/links'].get;
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['limit', 'cursor', 'tag', 'q', 'created_after', 'created_before', 'sort', 'order']),
    );
    expect(Object.keys(doc.paths['/api/v1/links/{key}']).sort()).toEqual(['delete', 'get', 'patch', 'put']);
    expect(doc.paths['/api/v1/links/{key}'].patch.requestBody.content['application/json'].schema.required).toBeUndefined();
    expect(doc.paths['/api/v1/links/{key}/stats'].get).toBeDefined();
    expect(doc.components.securitySchemes).toMatchObject({ bearer: { type: 'http', scheme: 'bearer' }, apiKey: { in: 'header' } });
    // The redirect routes and operational endpoints are not part of the API document.
    for (const hidden of ['/{key}', '/metrics', '/openapi.json']) expect(doc.paths[hidden], hidden).toBeUndefined();
  });

  it('/docs serves the HTML API browser', async () => {
    let res = await t.call('GET', '/docs');
    for (let hops = 0; hops < 3 && res.statusCode >= 300 && res.statusCode < 400; hops++) {
      res = await t.call('GET', new URL(String(res.headers.location), 'http://localhost/docs/').pathname);
    }
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toMatch(/<html[\s\S]*swagger/i);
  });
});

describe('health when dependencies fail', () => {
  it('low disk space is degraded (200) under the warning threshold and unhealthy (503) under the failure one', async () => {
    const warn = await makeTestApp({ HEALTH_DISK_WARN_MB: String(2 ** 40), HEALTH_DISK_FAIL_MB: '0' });
    try {
      const res = await warn.call('GET', '/health/detailed');
      expect(res.statusCode).toBe(200);
      expect(res.json().status).toBe('degraded');
      expect(res.json().checks.disk.status).toBe('warning');
    } finally {
      await warn.close();
    }
    const fail = await makeTestApp({ HEALTH_DISK_WARN_MB: String(2 ** 40), HEALTH_DISK_FAIL_MB: String(2 ** 40) });
    try {
      const res = await fail.call('GET', '/health/detailed');
      expect(res.statusCode).toBe(503);
      expect(res.json().status).toBe('unhealthy');
      expect(res.json().checks.disk.status).toBe('unhealthy');
    } finally {
      await fail.close();
    }
  });

  it('a closed database is 503 unhealthy, and nothing internal leaks', async () => {
    const t = await makeTestApp(DISK_OK);
    try {
      const link = await createLink(t, t.adminKey, { url: 'https://example.com/before' });
      expect((await t.call('GET', `/${link.key}`)).statusCode).toBe(301); // now cached
      const dataDir = t.container.config.DATA_DIR;
      await t.container.database.close();

      const res = await t.call('GET', '/health/detailed');
      expect(res.statusCode).toBe(503);
      const body = res.json();
      expect(body.status).toBe('unhealthy');
      expect(body.checks.database.status).toBe('unhealthy');
      expect(body.checks.cache.status).toBe('healthy');
      expect(Object.keys(body.checks.database).sort()).toEqual(['error', 'status']);
      expect(body.checks.database.error).toMatch(/^[A-Za-z_]+$/);
      expect(res.body).not.toContain(dataDir);
      expect(res.body).not.toMatch(/tny\.db|destroyed|sqlite:|postgres:|\bat \S+:\d+/i);

      // Liveness does not depend on the database.
      expect((await t.call('GET', '/health')).statusCode).toBe(200);
      // API calls and uncached redirects fail with the generic 500 envelope.
      const api = await t.call('POST', '/api/v1/links', { key: t.adminKey, body: { url: 'https://example.com/after' } });
      expect(expectError(api, 500, 'INTERNAL_ERROR').error.message).toBe('Something went wrong on our side.');
      expect(api.body).not.toContain(dataDir);
      expectError(await t.call('GET', '/uncached-key'), 500, 'INTERNAL_ERROR');
      // A cached link still redirects.
      const cached = await t.call('GET', `/${link.key}`);
      expect(cached.statusCode).toBe(301);
      expect(cached.headers.location).toBe('https://example.com/before');
    } finally {
      await t.close();
    }
  });
});

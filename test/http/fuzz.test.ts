import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { createLink, envelopeProblem } from './support.js';

/**
 * No input makes tny answer 5xx, and every JSON answer is the envelope (except the
 * documents of /health, /openapi.json and /docs, which have shapes of their own).
 */

const method = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('GET', 'POST') },
  { weight: 2, arbitrary: fc.constantFrom('PATCH', 'PUT', 'DELETE', 'HEAD') },
  { weight: 1, arbitrary: fc.constantFrom('OPTIONS', 'TRACE', 'PROPFIND') },
);

const unicode = fc.string({ unit: 'grapheme', maxLength: 12 });
const encoded = fc.oneof(
  fc.constantFrom('%', '%2', '%zz', '%00', '%2F', '%2e%2e', '%C0%AF', '%E0%A4%A', '%FF%FE', '%25', '%0A', '%20', '%3F', '%23'),
  unicode.map((s) => encodeURIComponent(s)),
);
const segment = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/) },
  { weight: 2, arbitrary: fc.constantFrom('..', '.', '', 'api', 'v1', 'links', 'shorten', 'stats', 'health', 'detailed', 'docs', 'json', 'metrics', 'openapi.json', 'fixed-link', 'locked-link') },
  { weight: 2, arbitrary: encoded },
  { weight: 1, arbitrary: fc.webSegment() },
  { weight: 1, arbitrary: fc.integer({ min: 65, max: 5000 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: unicode.filter((s) => !/[?#\s]/.test(s)) },
);
const prefix = fc.constantFrom('', '/api/v1/links', '/api/v1/shorten', '/api/v1/links/fixed-link', '/api', '/health', '/docs', '/static');
const query = fc.oneof(
  fc.constant(''),
  fc.webQueryParameters().map((q) => `?${q}`),
  fc
    .tuple(fc.constantFrom('limit', 'cursor', 'sort', 'order', 'tag', 'q', 'created_after', 'created_before', 'from', 'to', 'x'), fc.oneof(segment, fc.integer().map(String)))
    .map(([k, v]) => `?${k}=${v}`),
  fc.tuple(segment, segment).map(([k, v]) => `?${k}=${v}&${k}=${v}`),
);
const anyPath = fc
  .tuple(prefix, fc.array(segment, { maxLength: 4 }), query, fc.boolean())
  .map(([p, segs, q, trailing]) => `${p}/${segs.join('/')}${trailing ? '/' : ''}${q}`.replace(/^([^/])/, '/$1'));
/** Mostly the shapes of real routes, so requests get past routing into hooks and handlers. */
const path = fc.oneof(
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('/api/v1/links', '/api/v1/shorten'), query).map(([p, q]) => p + q) },
  { weight: 2, arbitrary: fc.tuple(segment, query).map(([k, q]) => `/api/v1/links/${k}${q}`) },
  { weight: 1, arbitrary: fc.tuple(segment, query).map(([k, q]) => `/api/v1/links/${k}/stats${q}`) },
  { weight: 2, arbitrary: fc.tuple(segment, query).map(([k, q]) => `/${k}${q}`) },
  { weight: 2, arbitrary: anyPath },
);

const linkish = fc.record(
  {
    url: fc.oneof(fc.webUrl(), fc.string(), fc.jsonValue(), fc.constantFrom('javascript:alert(1)', 'http://tny.test/x', 'https://exa mple.com')),
    alias: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,70}$/), unicode, fc.jsonValue()),
    expires_at: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string(), fc.integer(), fc.constant(null)),
    max_clicks: fc.oneof(fc.integer(), fc.double(), fc.constant(null), fc.string()),
    redirect_status: fc.oneof(fc.constantFrom(301, 302, 303, 307, 308), fc.integer()),
    tags: fc.oneof(fc.array(fc.string(), { maxLength: 25 }), fc.jsonValue()),
    forward_query: fc.oneof(fc.boolean(), fc.jsonValue()),
    disabled: fc.oneof(fc.boolean(), fc.jsonValue()),
    password: fc.oneof(fc.string({ maxLength: 8 }), fc.jsonValue()),
    colour: fc.string(),
  },
  { requiredKeys: [] },
);
const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/octet-stream',
    'application/xml',
    'application/json; charset=latin1',
  ),
  fc.stringMatching(/^[\x21-\x7e]{1,40}$/),
);
/** Bodies that are valid or nearly so, to reach the use cases and the database. */
const plausible = fc.record(
  {
    url: fc.webUrl({ withQueryParameters: true, withFragments: true }),
    alias: fc.stringMatching(/^[A-Za-z0-9_-]{3,20}$/),
    max_clicks: fc.integer({ min: 1, max: 10 }),
    redirect_status: fc.constantFrom(301, 302, 307, 308),
    tags: fc.array(fc.stringMatching(/^[a-z]{1,8}$/), { maxLength: 3 }),
    forward_query: fc.boolean(),
    disabled: fc.boolean(),
    expires_at: fc.date({ min: new Date('2100-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  },
  { requiredKeys: ['url'] },
);
type Body = { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'raw'; text: string; type: string };
const body: fc.Arbitrary<Body> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.jsonValue().map((value) => ({ kind: 'json' as const, value })),
  { weight: 2, arbitrary: linkish.map((value) => ({ kind: 'json' as const, value })) },
  { weight: 2, arbitrary: plausible.map((value) => ({ kind: 'json' as const, value })) },
  fc.tuple(fc.oneof(fc.string({ unit: 'binary' }), fc.string(), fc.json()), contentType).map(([text, type]) => ({ kind: 'raw' as const, text, type })),
);
const auth = fc.oneof({ weight: 3, arbitrary: fc.constant('user') }, fc.constantFrom('none', 'admin', 'garbage', 'x-api-key'));

const DOCUMENTS = /^\/(health(\/detailed)?|openapi\.json|docs(\/.*)?)$/;

describe('fuzz: random requests never make tny fail', () => {
  let t: TestApp;
  let userKey: string;
  beforeAll(async () => {
    t = await makeTestApp();
    userKey = await t.newAccountKey('fuzzer');
    await createLink(t, userKey, { url: 'https://example.com/fixed', alias: 'fixed-link', forward_query: true });
    await createLink(t, userKey, { url: 'https://example.com/locked', alias: 'locked-link', password: 'pw' });
  });
  afterAll(() => t.close());

  function headersFor(a: string): Record<string, string> {
    switch (a) {
      case 'user':
        return { authorization: `Bearer ${userKey}` };
      case 'admin':
        return { authorization: `Bearer ${t.adminKey}` };
      case 'garbage':
        return { authorization: 'Bearer tny_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' };
      case 'x-api-key':
        return { 'x-api-key': userKey };
      default:
        return {};
    }
  }

  it('the status is never 5xx and JSON answers are envelopes', async () => {
    await fc.assert(
      fc.asyncProperty(method, path, body, auth, fc.constantFrom(undefined, 'application/json', 'text/html'), async (method, url, b, a, accept) => {
        const headers: Record<string, string> = headersFor(a);
        if (accept) headers.accept = accept;
        const opts: InjectOptions = { method, url, headers };
        if (b.kind === 'json') {
          opts.payload = JSON.stringify(b.value);
          headers['content-type'] = 'application/json';
        } else if (b.kind === 'raw') {
          opts.payload = b.text;
          headers['content-type'] = b.type;
        }
        const res = await t.app.inject(opts);
        const what = `${method} ${url} → ${res.statusCode} ${res.body.slice(0, 200)}`;
        expect(res.statusCode, what).toBeLessThan(500);
        const type = String(res.headers['content-type'] ?? '');
        if (!type.startsWith('application/json') || method === 'HEAD' || res.body === '') return;
        const pathname = url.split('?')[0]!;
        if (res.statusCode < 300 && DOCUMENTS.test(pathname)) return;
        expect(envelopeProblem(JSON.parse(res.body)), what).toBeUndefined();
      }),
      {
        numRuns: 500,
        examples: [
          ['GET', '/%', { kind: 'none' }, 'none', undefined],
          ['POST', '/api/v1/links', { kind: 'raw', text: '{"url":', type: 'application/json' }, 'user', undefined],
          ['GET', `/api/v1/links/${'x'.repeat(5000)}`, { kind: 'none' }, 'user', undefined],
          ['POST', '/fixed-link', { kind: 'raw', text: 'password=%zz', type: 'application/x-www-form-urlencoded' }, 'none', undefined],
          ['GET', '/api/v1/links?cursor=%E0%A4%A', { kind: 'none' }, 'admin', undefined],
          ['PATCH', '/api/v1/links/fixed-link', { kind: 'json', value: { url: ['https://example.com/'] } }, 'user', undefined],
        ],
      },
    );
  }, 60_000);

  it('the fast path of a listening server never answers 5xx to raw paths', async () => {
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    const raw = (method: string, p: string) =>
      new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, method, path: p, headers: { connection: 'keep-alive' } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: text }));
        });
        req.on('error', reject);
        req.end();
      });
    // Node's client refuses unescaped non-ASCII and spaces; send everything else raw.
    // Node's server refuses request lines over its header limit (16 KiB) itself: stay under.
    const rawPath = path.map((p) => p.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c))).filter((p) => p.length < 8000);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'HEAD'), rawPath, async (method, p) => {
        const res = await raw(method, p);
        expect(res.status, `${method} ${p} → ${res.status} ${res.body.slice(0, 200)}`).toBeLessThan(500);
        if (method === 'GET' && res.type.startsWith('application/json') && res.status >= 400) {
          expect(envelopeProblem(JSON.parse(res.body)), `${p} → ${res.body.slice(0, 200)}`).toBeUndefined();
        }
      }),
      { numRuns: 200, examples: [['GET', '/fixed-link?%zz'], ['GET', '//fixed-link'], ['HEAD', '/fixed-link/..'], ['GET', '/%2e%2e/health']] },
    );
  }, 60_000);
});

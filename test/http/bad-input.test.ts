import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/platform/auth/manage-keys.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { createLink, expectData, expectError, fakeClock } from './support.js';

type Auth = 'alice' | 'bob' | 'admin' | 'none' | 'wrong-secret' | 'malformed' | 'revoked' | 'x-api-key-wrong' | 'basic';

interface Row {
  name: string;
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path?: string;
  auth?: Auth;
  /** A JSON body (sent as application/json). */
  json?: unknown;
  /** A raw payload with its content type. */
  raw?: { body: string; type: string };
  headers?: Record<string, string>;
  status: number;
  code: string;
}

const LINKS = '/api/v1/links';
const url = 'https://example.com/ok';
const create = (name: string, json: unknown, status: number, code: string): Row => ({ name, method: 'POST', path: LINKS, json, status, code });
const badUrl = (name: string, value: unknown, code = 'INVALID_URL'): Row => create(`url: ${name}`, { url: value }, 422, code);
const field = (name: string, extra: Record<string, unknown>, status = 422, code = 'VALIDATION_ERROR'): Row =>
  create(name, { url, ...extra }, status, code);

const TABLE: Row[] = [
  { name: 'malformed JSON', method: 'POST', path: LINKS, raw: { body: '{"url": "https://example.com",', type: 'application/json' }, status: 400, code: 'MALFORMED_JSON' },
  { name: 'empty JSON body', method: 'POST', path: LINKS, raw: { body: '', type: 'application/json' }, status: 400, code: 'MALFORMED_JSON' },
  { name: 'text/plain body', method: 'POST', path: LINKS, raw: { body: 'https://example.com/', type: 'text/plain' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'form body on the API', method: 'POST', path: '/api/v1/shorten', raw: { body: 'url=https%3A%2F%2Fexample.com', type: 'application/x-www-form-urlencoded' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  create('body over BODY_LIMIT', { url: `https://example.com/?q=${'a'.repeat(3000)}` }, 413, 'PAYLOAD_TOO_LARGE'),
  create('body is an array', [{ url }], 422, 'VALIDATION_ERROR'),
  create('body is a string', url, 422, 'VALIDATION_ERROR'),
  create('body is null', null, 422, 'VALIDATION_ERROR'),
  create('missing url', {}, 422, 'VALIDATION_ERROR'),
  { name: 'missing url (shorten)', method: 'POST', path: '/api/v1/shorten', json: { alias: 'abcdef' }, status: 422, code: 'VALIDATION_ERROR' },
  badUrl('a number', 123, 'VALIDATION_ERROR'),
  badUrl('a boolean', true, 'VALIDATION_ERROR'),
  badUrl('null', null, 'VALIDATION_ERROR'),
  badUrl('an array of one string', [url], 'VALIDATION_ERROR'),
  badUrl('an object', { href: url }, 'VALIDATION_ERROR'),
  badUrl('empty', ''),
  badUrl('javascript:', 'javascript:alert(document.cookie)'),
  badUrl('JavaScript: with spaces', '  JavaScript:alert(1)'),
  badUrl('data:', 'data:text/html,<script>alert(1)</script>'),
  badUrl('file:', 'file:///etc/passwd'),
  badUrl('ftp:', 'ftp://example.com/file.txt'),
  badUrl('relative path', '/just/a/path'),
  badUrl('no scheme', 'example.com/page'),
  badUrl('over URL_MAX_LENGTH', `https://example.com/${'a'.repeat(100)}`),
  badUrl("BASE_URL's host", 'http://tny.test/abc'),
  badUrl("BASE_URL's host, other case, port and trailing dot", 'https://TNY.TEST.:8443/abc'),
  badUrl('host on URL_BLOCKLIST', 'https://blocked.example/x'),
  badUrl('subdomain of a blocked host', 'https://deep.sub.Blocked.Example/x'),
  field('alias too short', { alias: 'ab' }, 422, 'INVALID_ALIAS'),
  field('alias with a space', { alias: 'has space' }, 422, 'INVALID_ALIAS'),
  field('alias with a dot', { alias: 'dot.ted' }, 422, 'INVALID_ALIAS'),
  field('alias with a slash', { alias: 'a/b/c' }, 422, 'INVALID_ALIAS'),
  field('alias with non-ASCII letters', { alias: 'ünïcode' }, 422, 'INVALID_ALIAS'),
  field('alias too long', { alias: 'a'.repeat(65) }, 422, 'INVALID_ALIAS'),
  ...['api', 'docs', 'health', 'metrics', 'admin', 'static', 'API', 'Docs', 'HEALTH', 'Metrics', 'ADMIN', 'sTaTiC'].map((alias) =>
    field(`reserved alias ${alias}`, { alias }, 422, 'RESERVED_ALIAS'),
  ),
  field('taken alias', { alias: 'taken-alias' }, 409, 'ALIAS_TAKEN'),
  { ...field('alias taken by another account', { alias: 'taken-alias' }, 409, 'ALIAS_TAKEN'), auth: 'bob' },
  field('expires_at in the past', { expires_at: '2000-01-01T00:00:00Z' }),
  field('expires_at not a date', { expires_at: 'tomorrow' }),
  field('expires_at impossible date', { expires_at: '2030-13-45T00:00:00Z' }),
  field('expires_at a number', { expires_at: 4102444800000 }),
  field('max_clicks 0', { max_clicks: 0 }),
  field('max_clicks -1', { max_clicks: -1 }),
  field('max_clicks 1.5', { max_clicks: 1.5 }),
  field('max_clicks a string', { max_clicks: '5' }),
  field('max_clicks true', { max_clicks: true }),
  field('redirect_status 303', { redirect_status: 303 }),
  field('redirect_status 200', { redirect_status: 200 }),
  field('redirect_status a string', { redirect_status: '302' }),
  field('forward_query a string', { forward_query: 'yes' }),
  field('tags a string', { tags: 'news' }),
  field('tag with a space', { tags: ['two words'] }),
  field('too many tags', { tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }),
  field('empty password', { password: '' }),
  field('unknown field', { colour: 'red' }),
  { ...field('Idempotency-Key with a space', {}), headers: { 'idempotency-key': 'two words' } },
  { ...field('Idempotency-Key too long', {}), headers: { 'idempotency-key': 'k'.repeat(256) } },
  { name: 'PATCH to javascript:', method: 'PATCH', path: `${LINKS}/alice-link`, json: { url: 'javascript:alert(1)' }, status: 422, code: 'INVALID_URL' },
  { name: 'PATCH changing the key', method: 'PATCH', path: `${LINKS}/alice-link`, json: { alias: 'new-key' }, status: 422, code: 'VALIDATION_ERROR' },
  { name: 'PATCH unknown field', method: 'PATCH', path: `${LINKS}/alice-link`, json: { colour: 'red' }, status: 422, code: 'VALIDATION_ERROR' },
  { name: 'PUT without url', method: 'PUT', path: `${LINKS}/alice-link`, json: { tags: ['x'] }, status: 422, code: 'VALIDATION_ERROR' },
  ...['0', '101', 'abc', '1.5', '-5'].map((limit): Row => ({ name: `limit=${limit}`, path: `${LINKS}?limit=${limit}`, status: 422, code: 'VALIDATION_ERROR' })),
  { name: 'sort=random', path: `${LINKS}?sort=random`, status: 422, code: 'VALIDATION_ERROR' },
  { name: 'order=up', path: `${LINKS}?order=up`, status: 422, code: 'VALIDATION_ERROR' },
  { name: 'created_after not a date', path: `${LINKS}?created_after=yesterday`, status: 422, code: 'VALIDATION_ERROR' },
  { name: 'unknown query parameter', path: `${LINKS}?colour=red`, status: 422, code: 'VALIDATION_ERROR' },
  { name: 'cursor not base64url', path: `${LINKS}?cursor=${encodeURIComponent('!!!')}`, status: 400, code: 'INVALID_CURSOR' },
  { name: 'cursor not a cursor', path: `${LINKS}?cursor=${Buffer.from('{"a":1}').toString('base64url')}`, status: 400, code: 'INVALID_CURSOR' },
  { name: 'cursor of garbage', path: `${LINKS}?cursor=zzzzzz`, status: 400, code: 'INVALID_CURSOR' },
  { name: 'stats from an impossible day', path: `${LINKS}/alice-link/stats?from=2026-02-30`, status: 422, code: 'VALIDATION_ERROR' },
  { name: 'stats from after to', path: `${LINKS}/alice-link/stats?from=2026-03-02&to=2026-03-01`, status: 422, code: 'VALIDATION_ERROR' },
  { name: 'unknown key', path: `${LINKS}/nope`, status: 404, code: 'LINK_NOT_FOUND' },
  { name: 'unknown key (PATCH)', method: 'PATCH', path: `${LINKS}/nope`, json: { tags: [] }, status: 404, code: 'LINK_NOT_FOUND' },
  { name: 'unknown key (DELETE)', method: 'DELETE', path: `${LINKS}/nope`, status: 404, code: 'LINK_NOT_FOUND' },
  { name: 'unknown key (stats)', path: `${LINKS}/nope/stats`, status: 404, code: 'LINK_NOT_FOUND' },
  { name: 'unknown API route', path: '/api/v1/nothing-here', status: 404, code: 'NOT_FOUND' },
  { name: 'missing key (list)', path: LINKS, auth: 'none', status: 401, code: 'UNAUTHORIZED' },
  { name: 'missing key (create)', method: 'POST', path: LINKS, auth: 'none', json: { url }, status: 401, code: 'UNAUTHORIZED' },
  { name: 'wrong secret', path: LINKS, auth: 'wrong-secret', status: 401, code: 'UNAUTHORIZED' },
  { name: 'malformed key', path: LINKS, auth: 'malformed', status: 401, code: 'UNAUTHORIZED' },
  { name: 'revoked key', path: LINKS, auth: 'revoked', status: 401, code: 'UNAUTHORIZED' },
  { name: 'wrong X-API-Key', path: LINKS, auth: 'x-api-key-wrong', status: 401, code: 'UNAUTHORIZED' },
  { name: 'Basic credentials', path: LINKS, auth: 'basic', status: 401, code: 'UNAUTHORIZED' },
  { name: "another account's link (GET)", path: `${LINKS}/alice-link`, auth: 'bob', status: 404, code: 'LINK_NOT_FOUND' },
  { name: "another account's link (PATCH)", method: 'PATCH', path: `${LINKS}/alice-link`, auth: 'bob', json: { tags: ['x'] }, status: 404, code: 'LINK_NOT_FOUND' },
  { name: "another account's link (PUT)", method: 'PUT', path: `${LINKS}/alice-link`, auth: 'bob', json: { url }, status: 404, code: 'LINK_NOT_FOUND' },
  { name: "another account's link (DELETE)", method: 'DELETE', path: `${LINKS}/alice-link`, auth: 'bob', status: 404, code: 'LINK_NOT_FOUND' },
  { name: "another account's link (stats)", path: `${LINKS}/alice-link/stats`, auth: 'bob', status: 404, code: 'LINK_NOT_FOUND' },
];

describe('bad input', () => {
  let t: TestApp;
  const tokens = {} as Record<Auth, Record<string, string>>;
  beforeAll(async () => {
    t = await makeTestApp({ BODY_LIMIT: '2048', URL_MAX_LENGTH: '100', URL_BLOCKLIST: 'blocked.example, evil.test' });
    const alice = await t.newAccountKey('alice');
    const bob = await t.newAccountKey('bob');
    const revoked = await createKey(t.container.accounts, { name: 'revoked' }, t.clock.now());
    expect(await t.container.accounts.revokeKey(revoked.key.id, t.clock.now())).toBe(true);
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    Object.assign(tokens, {
      alice: bearer(alice),
      bob: bearer(bob),
      admin: bearer(t.adminKey),
      none: {},
      'wrong-secret': bearer(alice.slice(0, -4) + (alice.endsWith('AAAA') ? 'BBBB' : 'AAAA')),
      malformed: bearer('not-a-key'),
      revoked: bearer(revoked.token),
      'x-api-key-wrong': { 'x-api-key': `${bob.slice(0, -1)}${bob.endsWith('x') ? 'y' : 'x'}` },
      basic: { authorization: `Basic ${Buffer.from(`alice:${alice}`).toString('base64')}` },
    });
    await createLink(t, alice, { url: 'https://example.com/alice', alias: 'alice-link' });
    await createLink(t, alice, { url: 'https://example.com/taken', alias: 'taken-alias' });
  });
  afterAll(() => t.close());

  it.each(TABLE)('$name → $status $code', async (row) => {
    const opts: InjectOptions = {
      method: row.method ?? 'GET',
      url: row.path ?? LINKS,
      headers: { ...tokens[row.auth ?? 'alice'], ...row.headers },
    };
    if (row.raw) {
      opts.payload = row.raw.body;
      opts.headers = { ...opts.headers, 'content-type': row.raw.type };
    } else if (row.json !== undefined) {
      opts.payload = JSON.stringify(row.json);
      opts.headers = { ...opts.headers, 'content-type': 'application/json' };
    }
    const res = await t.app.inject(opts);
    const body = expectError(res, row.status, row.code);
    expect(res.body).not.toMatch(/\bat .+\.(ts|js):\d+|node_modules|SqliteError|sqlite_/);
    if (row.status === 401) expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    if (row.code === 'VALIDATION_ERROR' && row.status === 422) expect(body.error.details?.length).toBeGreaterThan(0);
  });

  it('the rows above changed nothing: the existing links are as they were', async () => {
    const links = expectData<{ key: string; url: string; tags: string[] }[]>(
      await t.app.inject({ method: 'GET', url: `${LINKS}?limit=100`, headers: tokens.alice }),
    );
    expect(links.map((l) => [l.key, l.url, l.tags]).sort()).toEqual([
      ['alice-link', 'https://example.com/alice', []],
      ['taken-alias', 'https://example.com/taken', []],
    ]);
    expect(expectData<unknown[]>(await t.app.inject({ method: 'GET', url: LINKS, headers: tokens.bob }))).toEqual([]);
  });
});

describe('write rate limit (token bucket per API key and per client IP)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ RATE_LIMIT_WRITE_BURST: '3', RATE_LIMIT_WRITE_PER_SECOND: '0.001' }, { clock: 'fake' });
  });
  afterAll(() => t.close());

  const post = (key: string, ip: string) =>
    t.app.inject({ method: 'POST', url: '/api/v1/shorten', remoteAddress: ip, headers: { authorization: `Bearer ${key}` }, payload: { url } });

  function expectLimited(res: Awaited<ReturnType<typeof post>>): number {
    expectError(res, 429, 'RATE_LIMITED');
    const retryAfter = Number(res.headers['retry-after']);
    // One token comes back every 1 / 0.001 s.
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(1000);
    expect(res.headers['ratelimit-limit']).toBe('3');
    expect(res.headers['ratelimit-remaining']).toBe('0');
    expect(Number(res.headers['ratelimit-reset'])).toBeGreaterThan(0);
    return retryAfter;
  }

  it('the 4th write of a key is 429 with Retry-After and RateLimit-*; allowed writes carry RateLimit-*', async () => {
    const key = await t.newAccountKey('limited-key');
    for (let i = 0; i < 3; i++) {
      const res = await post(key, '10.0.0.1');
      expect(res.statusCode).toBe(201);
      expect(res.headers['ratelimit-limit']).toBe('3');
      expect(res.headers['ratelimit-remaining']).toBe(String(2 - i));
      expect(Number(res.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(0);
      expect(res.headers['retry-after']).toBeUndefined();
    }
    // Same key from a fresh IP: the IP bucket is full, the key's is empty.
    const retryAfter = expectLimited(await post(key, '10.0.0.2'));
    // Reads are not limited.
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/links', remoteAddress: '10.0.0.1', headers: { authorization: `Bearer ${key}` } })).statusCode).toBe(200);
    fakeClock(t).advance(retryAfter * 1000);
    expect((await post(key, '10.0.0.2')).statusCode).toBe(201);
  });

  it('an IP that used its writes is limited whatever key it presents, and so are unauthenticated guesses', async () => {
    const first = await t.newAccountKey('ip-first');
    const second = await t.newAccountKey('ip-second');
    for (let i = 0; i < 3; i++) expect((await post(first, '10.0.1.1')).statusCode).toBe(201);
    // A fresh key from the same IP: the key's bucket is full, the IP's is empty.
    expectLimited(await post(second, '10.0.1.1'));
    // The fresh key is fine from elsewhere.
    expect((await post(second, '10.0.1.2')).statusCode).toBe(201);

    for (let i = 0; i < 3; i++) expectError(await post('tny_guess', '10.0.2.1'), 401, 'UNAUTHORIZED');
    expectLimited(await post('tny_guess', '10.0.2.1'));
  });
});

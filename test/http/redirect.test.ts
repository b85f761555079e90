import { setTimeout as sleep } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { createLink, expectError, fakeClock } from './support.js';

const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
const JSON_ACCEPT = { accept: 'application/json' };
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('redirects', () => {
  let t: TestApp;
  let key: string;
  beforeAll(async () => {
    t = await makeTestApp({ RATE_LIMIT_PASSWORD_BURST: '3', RATE_LIMIT_PASSWORD_PER_MINUTE: '5' }, { clock: 'fake' });
    key = await t.newAccountKey('redirects');
  });
  afterAll(() => t.close());

  it("GET and HEAD answer the link's status with Location and a Cache-Control that fits it", async () => {
    const expected: Record<number, string> = {
      301: 'public, max-age=86400',
      308: 'public, max-age=86400',
      302: 'private, max-age=0',
      307: 'private, max-age=0',
    };
    for (const status of [301, 302, 307, 308]) {
      const link = await createLink(t, key, { url: `https://example.com/s/${status}`, redirect_status: status });
      for (const method of ['GET', 'HEAD']) {
        const res = await t.call(method, `/${link.key}`);
        expect(res.statusCode, `${method} ${status}`).toBe(status);
        expect(res.headers.location).toBe(`https://example.com/s/${status}`);
        expect(res.headers['cache-control']).toBe(expected[status]);
        expect(res.body).toBe('');
      }
    }
  });

  it('HEAD answers like GET but is not counted and does not use up a click limit', async () => {
    const link = await createLink(t, key, { url: 'https://example.com/head', max_clicks: 2 });
    for (let i = 0; i < 5; i++) expect((await t.call('HEAD', `/${link.key}`)).statusCode).toBe(301);
    expect((await t.call('GET', `/${link.key}`)).statusCode).toBe(301);
    expect((await t.call('GET', `/${link.key}`)).statusCode).toBe(301);
    expect((await t.call('GET', `/${link.key}`)).statusCode).toBe(410);
    await t.container.shortener.recorder.flush();
    const stats = await t.call('GET', `/api/v1/links/${link.key}/stats`, { key });
    expect(stats.json().data.total).toBe(2);
  });

  it('the default status is 301; links that count clicks or need a password are no-store', async () => {
    const plain = await createLink(t, key, { url: 'https://example.com/default' });
    expect(plain.redirect_status).toBe(301);
    expect((await t.call('GET', `/${plain.key}`)).statusCode).toBe(301);
    const limited = await createLink(t, key, { url: 'https://example.com/limited', max_clicks: 100 });
    const hop = await t.call('GET', `/${limited.key}`);
    expect(hop.statusCode).toBe(301);
    expect(hop.headers['cache-control']).toBe('no-store');
    const locked = await createLink(t, key, { url: 'https://example.com/locked', password: 'open-sesame' });
    const page = await t.call('GET', `/${locked.key}`, { headers: HTML });
    expect(page.headers['cache-control']).toBe('no-store');
    const unlocked = await t.call('POST', `/${locked.key}`, { headers: FORM, body: 'password=open-sesame' });
    expect(unlocked.statusCode).toBe(301);
    expect(unlocked.headers['cache-control']).toBe('no-store');
  });

  it('Cache-Control never reaches beyond the expiry', async () => {
    const expires = new Date(t.clock.now() + 600_000).toISOString();
    const link = await createLink(t, key, { url: 'https://example.com/soon', expires_at: expires });
    expect((await t.call('GET', `/${link.key}`)).headers['cache-control']).toBe('public, max-age=600');
    fakeClock(t).advance(450_000);
    expect((await t.call('GET', `/${link.key}`)).headers['cache-control']).toBe('public, max-age=150');
  });

  it('forward_query appends the query string, before any #fragment', async () => {
    const cases: [string, boolean, string, string][] = [
      ['https://example.com/p', true, 'utm=a&b=c', 'https://example.com/p?utm=a&b=c'],
      ['https://example.com/p?x=1', true, 'utm=a', 'https://example.com/p?x=1&utm=a'],
      ['https://example.com/p?x=1#frag', true, 'utm=a&b=c', 'https://example.com/p?x=1&utm=a&b=c#frag'],
      ['https://example.com/p#top', true, 'q=%C3%A9', 'https://example.com/p?q=%C3%A9#top'],
      ['https://example.com/p?x=1#frag', false, 'utm=a', 'https://example.com/p?x=1#frag'],
      ['https://example.com/p', true, '', 'https://example.com/p'],
    ];
    for (const [url, forward, query, location] of cases) {
      const link = await createLink(t, key, { url, forward_query: forward, redirect_status: 302 });
      const res = await t.call('GET', `/${link.key}${query ? `?${query}` : ''}`);
      expect(res.headers.location, `${url} + ${query}`).toBe(location);
    }
  });

  it('an unknown key is 404: JSON envelope unless the client asks for HTML', async () => {
    expectError(await t.call('GET', '/NoSuchKey1'), 404, 'LINK_NOT_FOUND');
    expectError(await t.call('GET', '/NoSuchKey1', { headers: JSON_ACCEPT }), 404, 'LINK_NOT_FOUND');
    const html = await t.call('GET', '/NoSuchKey1', { headers: HTML });
    expect(html.statusCode).toBe(404);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.body).toMatch(/<html[\s\S]*No link has this key/);
    const head = await t.call('HEAD', '/NoSuchKey1');
    expect(head.statusCode).toBe(404);
    expect(head.body).toBe('');
  });

  it('an expired link is 410 LINK_EXPIRED, a disabled one 410 LINK_DISABLED', async () => {
    const link = await createLink(t, key, { url: 'https://example.com/exp', expires_at: new Date(t.clock.now() + 60_000).toISOString() });
    expect((await t.call('GET', `/${link.key}`)).statusCode).toBe(301);
    fakeClock(t).advance(60_001);
    expectError(await t.call('GET', `/${link.key}`), 410, 'LINK_EXPIRED');
    const html = await t.call('GET', `/${link.key}`, { headers: HTML });
    expect(html.statusCode).toBe(410);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    const off = await createLink(t, key, { url: 'https://example.com/off', disabled: true });
    expectError(await t.call('GET', `/${off.key}`), 410, 'LINK_DISABLED');
    expect((await t.call('HEAD', `/${off.key}`)).statusCode).toBe(410);
  });

  it('max_clicks=5 under 40 concurrent requests: exactly 5 redirects, 35 × 410', async () => {
    const link = await createLink(t, key, { url: 'https://example.com/five', max_clicks: 5 });
    const all = await Promise.all(Array.from({ length: 40 }, () => t.call('GET', `/${link.key}`)));
    const ok = all.filter((r) => r.statusCode === 301);
    expect(ok).toHaveLength(5);
    for (const r of ok) expect(r.headers.location).toBe('https://example.com/five');
    const gone = all.filter((r) => r.statusCode !== 301);
    expect(gone).toHaveLength(35);
    for (const r of gone) expectError(r, 410, 'LINK_CLICK_LIMIT_REACHED');
    await t.container.shortener.recorder.flush();
    expect((await t.call('GET', `/api/v1/links/${link.key}`, { key })).json().data.click_count).toBe(5);
  });

  it('password links: a form or 401 PASSWORD_REQUIRED; the right password redirects, a wrong one is 401', async () => {
    const link = await createLink(t, key, { url: 'https://example.com/secret', password: 'right horse', redirect_status: 302 });
    const form = await t.call('GET', `/${link.key}`, { headers: HTML });
    expect(form.statusCode).toBe(200);
    expect(form.headers['content-type']).toMatch(/^text\/html/);
    expect(form.body).toContain(`<form method="post" action="/${link.key}">`);
    expect(form.body).toContain('name="password"');
    expect(form.body).not.toContain('example.com/secret');
    expectError(await t.call('GET', `/${link.key}`), 401, 'PASSWORD_REQUIRED');
    expectError(await t.call('GET', `/${link.key}`, { headers: JSON_ACCEPT }), 401, 'PASSWORD_REQUIRED');

    expectError(await t.call('POST', `/${link.key}`, { headers: { ...FORM, ...JSON_ACCEPT }, body: 'password=wrong' }), 401, 'INVALID_PASSWORD');
    const again = await t.call('POST', `/${link.key}`, { headers: { ...FORM, ...HTML }, body: 'password=wrong' });
    expect(again.statusCode).toBe(401);
    expect(again.body).toContain('Wrong password');
    expect(again.headers.location).toBeUndefined();
    const right = await t.call('POST', `/${link.key}`, { headers: FORM, body: `password=${encodeURIComponent('right horse')}` });
    expect(right.statusCode).toBe(302);
    expect(right.headers.location).toBe('https://example.com/secret');
  });

  it('more than RATE_LIMIT_PASSWORD_BURST attempts are 429 with Retry-After, even with the right password', async () => {
    const link = await createLink(t, key, { url: 'https://example.com/guarded', password: 'p4ss' });
    for (let i = 0; i < 3; i++) {
      expectError(await t.call('POST', `/${link.key}`, { headers: FORM, body: `password=guess${i}` }), 401, 'INVALID_PASSWORD');
    }
    const refused = await t.call('POST', `/${link.key}`, { headers: FORM, body: 'password=p4ss' });
    expectError(refused, 429, 'RATE_LIMITED');
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(12); // 5 per minute: one attempt back every 12 s
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    // Another link is a separate budget.
    const other = await createLink(t, key, { url: 'https://example.com/other', password: 'p4ss' });
    expect((await t.call('POST', `/${other.key}`, { headers: FORM, body: 'password=p4ss' })).statusCode).toBe(301);
    fakeClock(t).advance(retryAfter * 1000);
    const later = await t.call('POST', `/${link.key}`, { headers: FORM, body: 'password=p4ss' });
    expect(later.statusCode).toBe(301);
    expect(later.headers.location).toBe('https://example.com/guarded');
  });

  it('negative cache: an alias that was 404 redirects as soon as it is created', async () => {
    expectError(await t.call('GET', '/brand-new'), 404, 'LINK_NOT_FOUND');
    expect(t.container.shortener.cache.peek('brand-new')).toBeNull(); // the miss is cached
    await createLink(t, key, { url: 'https://example.com/brand-new', alias: 'brand-new' });
    const hop = await t.call('GET', '/brand-new');
    expect(hop.statusCode).toBe(301);
    expect(hop.headers.location).toBe('https://example.com/brand-new');
    expect((await t.call('DELETE', '/api/v1/links/brand-new', { key })).statusCode).toBe(204);
    expectError(await t.call('GET', '/brand-new'), 404, 'LINK_NOT_FOUND');
    await createLink(t, key, { url: 'https://example.com/reborn', alias: 'brand-new' });
    expect((await t.call('GET', '/brand-new')).headers.location).toBe('https://example.com/reborn');
  });

  it('singleflight: 200 concurrent GETs of a cold key load it from the repository once', async () => {
    const link = await createLink(t, key, { url: 'https://example.com/cold' });
    expect(t.container.shortener.cache.peek(link.key)).toBeUndefined();
    const links = t.container.shortener.links;
    const original = links.findByKey.bind(links);
    // A slow load, so all 200 requests miss while it is in flight.
    const spy = vi.spyOn(links, 'findByKey').mockImplementation(async (k: string) => {
      await sleep(50);
      return original(k);
    });
    try {
      const all = await Promise.all(Array.from({ length: 200 }, () => t.call('GET', `/${link.key}`)));
      expect(all.every((r) => r.statusCode === 301 && r.headers.location === 'https://example.com/cold')).toBe(true);
      expect(spy.mock.calls.filter(([k]) => k === link.key)).toHaveLength(1);
    } finally {
      spy.mockRestore();
    }
  });

  it('the fast path of a listening server answers the same as inject()', async () => {
    const link = await createLink(t, key, { url: 'https://example.com/fast', redirect_status: 307 });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    const base = `http://127.0.0.1:${port}`;
    const get = await fetch(`${base}/${link.key}?x=1`, { redirect: 'manual' });
    expect(get.status).toBe(307);
    expect(get.headers.get('location')).toBe('https://example.com/fast');
    expect(get.headers.get('cache-control')).toBe('private, max-age=0');
    // An empty body, said with Content-Length: 0 rather than a chunked stream.
    expect(get.headers.get('content-length')).toBe('0');
    expect(get.headers.get('transfer-encoding')).toBeNull();
    const head = await fetch(`${base}/${link.key}`, { method: 'HEAD', redirect: 'manual' });
    expect(head.status).toBe(307);
    const missing = await fetch(`${base}/nope-nope`, { redirect: 'manual' });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('LINK_NOT_FOUND');
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
  });
});

describe('redirects with REDIRECT_STATUS=302', () => {
  it('new links default to 302, cached privately for 0 s', async () => {
    const t = await makeTestApp({ REDIRECT_STATUS: '302' });
    try {
      const link = await createLink(t, t.adminKey, { url: 'https://example.com/temp' });
      expect(link.redirect_status).toBe(302);
      const hop = await t.call('GET', `/${link.key}`);
      expect(hop.statusCode).toBe(302);
      expect(hop.headers['cache-control']).toBe('private, max-age=0');
      const explicit = await createLink(t, t.adminKey, { url: 'https://example.com/perm', redirect_status: 301 });
      expect((await t.call('GET', `/${explicit.key}`)).statusCode).toBe(301);
    } finally {
      await t.close();
    }
  });
});

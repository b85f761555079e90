import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, TEST_BASE_URL, type TestApp } from '../helpers/app.js';
import { createLink, DAY_MS, expectData, expectError, fakeClock } from './support.js';

type LinkData = Record<string, any>;

describe('links API: create, read, edit, delete', () => {
  let t: TestApp;
  let alice: string;
  let bob: string;
  beforeAll(async () => {
    t = await makeTestApp({}, { clock: 'fake' });
    alice = await t.newAccountKey('alice');
    bob = await t.newAccountKey('bob');
  });
  afterAll(() => t.close());

  it('POST /api/v1/shorten answers 201 with the envelope and a short_url on BASE_URL', async () => {
    const res = await t.call('POST', '/api/v1/shorten', { key: alice, body: { url: 'https://example.com/a?b=1' } });
    const body = res.json();
    expect(res.statusCode).toBe(201);
    expect(Object.keys(body).sort()).toEqual(['data', 'status']);
    expect(body.status).toBe('success');
    const d = body.data;
    expect(d.key).toMatch(/^[0-9A-Za-z]{7}$/);
    expect(d.short_url).toBe(`${TEST_BASE_URL}/${d.key}`);
    expect(d).toMatchObject({
      url: 'https://example.com/a?b=1',
      expires_at: null,
      max_clicks: null,
      click_count: 0,
      redirect_status: 301,
      password_protected: false,
      tags: [],
      forward_query: false,
      disabled: false,
    });
    expect(d.created_at).toBe(new Date(t.clock.now()).toISOString());
  });

  it('POST /api/v1/links round-trips every field and never echoes the password', async () => {
    const expires = new Date(t.clock.now() + 7 * DAY_MS).toISOString();
    const secret = 'hunter2-very-secret';
    const body = {
      url: 'https://example.org/path',
      alias: 'all-fields_1',
      expires_at: expires,
      max_clicks: 42,
      redirect_status: 307,
      password: secret,
      tags: ['news', 'q3'],
      forward_query: true,
    };
    const res = await t.call('POST', '/api/v1/links', { key: alice, body });
    const d = expectData(res, 201);
    expect(d).toMatchObject({
      key: 'all-fields_1',
      short_url: `${TEST_BASE_URL}/all-fields_1`,
      url: 'https://example.org/path',
      expires_at: expires,
      max_clicks: 42,
      redirect_status: 307,
      password_protected: true,
      tags: ['news', 'q3'],
      forward_query: true,
      disabled: false,
    });
    expect(res.body).not.toContain(secret);
    expect(res.body).not.toMatch(/hash|scrypt/i);
    const got = await t.call('GET', '/api/v1/links/all-fields_1', { key: alice });
    expect(expectData(got)).toEqual(d);
    expect(got.body).not.toContain(secret);
  });

  it('PATCH changes only the given fields', async () => {
    const before = await createLink(t, alice, {
      url: 'https://example.com/patch',
      tags: ['a', 'b'],
      max_clicks: 9,
      redirect_status: 302,
      forward_query: true,
      password: 'pw-patch',
    });
    fakeClock(t).advance(5000);
    const after = expectData(await t.call('PATCH', `/api/v1/links/${before.key}`, { key: alice, body: { tags: ['c'] } }));
    expect(after).toEqual({ ...before, tags: ['c'], updated_at: new Date(t.clock.now()).toISOString() });
    const got = expectData(await t.call('GET', `/api/v1/links/${before.key}`, { key: alice }));
    expect(got).toEqual(after);
  });

  it('PUT resets omitted fields to their defaults', async () => {
    const before = await createLink(t, alice, {
      url: 'https://example.com/put',
      tags: ['a'],
      max_clicks: 9,
      redirect_status: 302,
      forward_query: true,
      password: 'pw-put',
      expires_at: new Date(t.clock.now() + DAY_MS).toISOString(),
      disabled: true,
    });
    const after = expectData(await t.call('PUT', `/api/v1/links/${before.key}`, { key: alice, body: { url: 'https://example.com/put2' } }));
    expect(after).toMatchObject({
      key: before.key,
      url: 'https://example.com/put2',
      created_at: before.created_at,
      expires_at: null,
      max_clicks: null,
      redirect_status: 301,
      password_protected: false,
      tags: [],
      forward_query: false,
      disabled: false,
    });
    const hop = await t.call('GET', `/${before.key}`);
    expect(hop.statusCode).toBe(301);
    expect(hop.headers.location).toBe('https://example.com/put2');
  });

  it('DELETE answers 204, then the link is 404 everywhere', async () => {
    const link = await createLink(t, alice, { url: 'https://example.com/del' });
    expect((await t.call('GET', `/${link.key}`)).statusCode).toBe(301); // warm the redirect cache
    const del = await t.call('DELETE', `/api/v1/links/${link.key}`, { key: alice });
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    expectError(await t.call('GET', `/api/v1/links/${link.key}`, { key: alice }), 404, 'LINK_NOT_FOUND');
    expectError(await t.call('DELETE', `/api/v1/links/${link.key}`, { key: alice }), 404, 'LINK_NOT_FOUND');
    expectError(await t.call('GET', `/${link.key}`), 404, 'LINK_NOT_FOUND');
  });

  it('an edit invalidates the redirect cache at once', async () => {
    const link = await createLink(t, alice, { url: 'https://example.com/old', redirect_status: 302 });
    const first = await t.call('GET', `/${link.key}`);
    expect(first.headers.location).toBe('https://example.com/old');
    await t.call('PATCH', `/api/v1/links/${link.key}`, { key: alice, body: { url: 'https://example.com/new' } });
    const second = await t.call('GET', `/${link.key}`);
    expect(second.statusCode).toBe(302);
    expect(second.headers.location).toBe('https://example.com/new');
    await t.call('PUT', `/api/v1/links/${link.key}`, { key: alice, body: { url: 'https://example.com/newer', redirect_status: 308 } });
    const third = await t.call('GET', `/${link.key}`);
    expect(third.statusCode).toBe(308);
    expect(third.headers.location).toBe('https://example.com/newer');
    await t.call('PATCH', `/api/v1/links/${link.key}`, { key: alice, body: { disabled: true } });
    expectError(await t.call('GET', `/${link.key}`), 410, 'LINK_DISABLED');
  });

  it("an account cannot see, change or delete another account's links; the admin can", async () => {
    const link = await createLink(t, alice, { url: 'https://example.com/private', tags: ['mine'] });
    const path = `/api/v1/links/${link.key}`;
    expectError(await t.call('GET', path, { key: bob }), 404, 'LINK_NOT_FOUND');
    expectError(await t.call('PATCH', path, { key: bob, body: { url: 'https://evil.example/' } }), 404, 'LINK_NOT_FOUND');
    expectError(await t.call('PUT', path, { key: bob, body: { url: 'https://evil.example/' } }), 404, 'LINK_NOT_FOUND');
    expectError(await t.call('DELETE', path, { key: bob }), 404, 'LINK_NOT_FOUND');
    expectError(await t.call('GET', `${path}/stats`, { key: bob }), 404, 'LINK_NOT_FOUND');
    const bobs = expectData<LinkData[]>(await t.call('GET', '/api/v1/links?limit=100', { key: bob }));
    expect(bobs.map((l) => l.key)).not.toContain(link.key);
    expect(expectData(await t.call('GET', path, { key: alice }))).toEqual(link);

    const bobLink = await createLink(t, bob, { url: 'https://example.com/bob' });
    expect(expectData(await t.call('GET', path, { key: t.adminKey })).url).toBe('https://example.com/private');
    const patched = expectData(await t.call('PATCH', path, { key: t.adminKey, body: { tags: ['admin-set'] } }));
    expect(patched.tags).toEqual(['admin-set']);
    const all = expectData<LinkData[]>(await t.call('GET', '/api/v1/links?limit=100', { key: t.adminKey }));
    expect(all.map((l) => l.key)).toEqual(expect.arrayContaining([link.key, bobLink.key]));
    expect((await t.call('DELETE', `/api/v1/links/${bobLink.key}`, { key: t.adminKey })).statusCode).toBe(204);
  });
});

describe('links API: listing', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({}, { clock: 'fake' });
  });
  afterAll(() => t.close());

  const byCreatedDesc = (a: LinkData, b: LinkData) =>
    a.created_at === b.created_at ? (a.key < b.key ? 1 : -1) : a.created_at < b.created_at ? 1 : -1;

  async function pages(key: string, query: string): Promise<{ keys: string[]; sizes: number[] }> {
    const keys: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/api/v1/links?${query}${cursor ? `&cursor=${cursor}` : ''}`;
      const body = (await t.call('GET', url, { key })).json();
      expect(body.status, JSON.stringify(body)).toBe('success');
      keys.push(...body.data.map((l: LinkData) => l.key));
      sizes.push(body.data.length);
      cursor = body.pagination.next_cursor;
      expect(sizes.length).toBeLessThan(20);
    } while (cursor);
    return { keys, sizes };
  }

  it('cursor pagination returns every link exactly once, in order (ties broken by key)', async () => {
    const key = await t.newAccountKey('lister');
    const made: LinkData[] = [];
    for (let i = 0; i < 45; i++) {
      if (i % 3 === 0) fakeClock(t).advance(1000); // three links share each created_at
      made.push(await createLink(t, key, { url: `https://example.com/p/${i}` }));
    }
    const first = (await t.call('GET', '/api/v1/links?limit=20', { key })).json();
    expect(first.pagination.limit).toBe(20);
    expect(typeof first.pagination.next_cursor).toBe('string');

    const desc = await pages(key, 'limit=20');
    expect(desc.sizes).toEqual([20, 20, 5]);
    expect(desc.keys).toEqual([...made].sort(byCreatedDesc).map((l) => l.key));

    const asc = await pages(key, 'limit=20&order=asc');
    expect(asc.keys).toEqual([...made].sort(byCreatedDesc).reverse().map((l) => l.key));

    const byFour = await pages(key, 'limit=4');
    expect(new Set(byFour.keys).size).toBe(45);
    expect(byFour.keys).toEqual(desc.keys);
  });

  it('filters by tag, text and created range, and sorts by clicks', async () => {
    const key = await t.newAccountKey('filterer');
    const made: LinkData[] = [];
    for (let i = 0; i < 8; i++) {
      fakeClock(t).advance(60_000);
      made.push(
        await createLink(t, key, {
          url: i % 4 === 0 ? `https://example.com/Needle/${i}` : `https://example.com/hay/${i}`,
          tags: i % 2 === 0 ? ['even'] : ['odd'],
        }),
      );
    }
    const list = async (q: string) => expectData<LinkData[]>(await t.call('GET', `/api/v1/links?limit=100&${q}`, { key }));
    const keysOf = (ls: LinkData[]) => ls.map((l) => l.key).sort();

    expect(keysOf(await list('tag=even'))).toEqual(keysOf(made.filter((_, i) => i % 2 === 0)));
    expect(await list('tag=none')).toEqual([]);
    expect(keysOf(await list('q=needle'))).toEqual(keysOf(made.filter((_, i) => i % 4 === 0)));
    expect(keysOf(await list(`q=${made[5]!.key}`))).toEqual([made[5]!.key]);
    const from = made[2]!.created_at as string;
    const to = made[6]!.created_at as string;
    const ranged = await list(`created_after=${encodeURIComponent(from)}&created_before=${encodeURIComponent(to)}`);
    expect(keysOf(ranged)).toEqual(keysOf(made.slice(2, 6)));

    const clicks = [3, 0, 5, 1, 0, 2, 4, 0];
    for (const [i, n] of clicks.entries()) {
      for (let c = 0; c < n; c++) expect((await t.call('GET', `/${made[i]!.key}`)).statusCode).toBe(301);
    }
    await t.container.shortener.recorder.flush();
    const sorted = await list('sort=clicks&order=desc&tag=even');
    expect(sorted.map((l) => l.click_count)).toEqual([5, 4, 3, 0]);
    expect(sorted.map((l) => l.key)).toEqual([made[2]!.key, made[6]!.key, made[0]!.key, made[4]!.key]);
    const asc = await list('sort=clicks&order=asc');
    expect(asc.map((l) => l.click_count)).toEqual([...clicks].sort((a, b) => a - b));
  });

  it('a cursor made for another sort or order is 400 INVALID_CURSOR', async () => {
    const key = await t.newAccountKey('cursors');
    for (let i = 0; i < 3; i++) await createLink(t, key, { url: `https://example.com/c/${i}` });
    const cursor = (await t.call('GET', '/api/v1/links?limit=1', { key })).json().pagination.next_cursor as string;
    expect(typeof cursor).toBe('string');
    expect((await t.call('GET', `/api/v1/links?limit=1&cursor=${cursor}`, { key })).statusCode).toBe(200);
    expectError(await t.call('GET', `/api/v1/links?limit=1&sort=clicks&cursor=${cursor}`, { key }), 400, 'INVALID_CURSOR');
    expectError(await t.call('GET', `/api/v1/links?limit=1&order=asc&cursor=${cursor}`, { key }), 400, 'INVALID_CURSOR');
  });
});

describe('links API: stats', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({}, { clock: 'fake' });
  });
  afterAll(() => t.close());

  const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
  const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0';
  const SAFARI_IOS =
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
  const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

  it('counts clicks per day, by referrer host and browser, humans vs bots', async () => {
    const key = await t.newAccountKey('stats');
    const link = await createLink(t, key, { url: 'https://example.com/stats', redirect_status: 302 });
    const day1 = new Date(t.clock.now()).toISOString().slice(0, 10);
    const hit = async (ua: string, referer?: string) => {
      const headers: Record<string, string> = { 'user-agent': ua };
      if (referer) headers.referer = referer;
      expect((await t.call('GET', `/${link.key}`, { headers })).statusCode).toBe(302);
    };
    await hit(CHROME, 'https://news.ycombinator.com/item?id=1');
    await hit(CHROME, 'https://News.YCombinator.com/');
    await hit(FIREFOX, 'https://www.google.com/search?q=tny');
    await hit(GOOGLEBOT);
    fakeClock(t).advance(DAY_MS);
    const day2 = new Date(t.clock.now()).toISOString().slice(0, 10);
    await hit(SAFARI_IOS, 'https://news.ycombinator.com/');
    await t.container.shortener.recorder.flush();

    const s = expectData(await t.call('GET', `/api/v1/links/${link.key}/stats?from=${day1}&to=${day2}`, { key }));
    expect(s).toMatchObject({ key: link.key, from: day1, to: day2, total: 5, humans: 4, bots: 1, click_count: 5 });
    expect(s.daily).toEqual([
      { date: day1, clicks: 4, humans: 3, bots: 1 },
      { date: day2, clicks: 1, humans: 1, bots: 0 },
    ]);
    const refs = Object.fromEntries(s.referrers.map((r: { host: string; clicks: number }) => [r.host, r.clicks]));
    expect(refs['news.ycombinator.com']).toBe(3);
    expect(refs['www.google.com']).toBe(1);
    const browsers = Object.fromEntries(s.browsers.map((b: { browser: string; clicks: number }) => [b.browser, b.clicks]));
    expect(browsers).toMatchObject({ Chrome: 2, Firefox: 1, Safari: 1 });
    const os = Object.fromEntries(s.os.map((o: { os: string; clicks: number }) => [o.os, o.clicks]));
    expect(os).toMatchObject({ Windows: 2, Linux: 1, iOS: 1 });

    const one = expectData(await t.call('GET', `/api/v1/links/${link.key}/stats?from=${day2}&to=${day2}`, { key }));
    expect(one).toMatchObject({ total: 1, humans: 1, bots: 0 });
    expect(one.daily).toEqual([{ date: day2, clicks: 1, humans: 1, bots: 0 }]);
    expect(expectData(await t.call('GET', `/api/v1/links/${link.key}`, { key })).click_count).toBe(5);
  });
});

describe('links API: key strategies', () => {
  it('KEY_STRATEGY=hash: the same URL by the same account gives the same key, by another a different one', async () => {
    const t = await makeTestApp({ KEY_STRATEGY: 'hash' });
    try {
      const a = await t.newAccountKey('a');
      const b = await t.newAccountKey('b');
      const url = 'https://example.com/hashed';
      const first = await t.call('POST', '/api/v1/shorten', { key: a, body: { url } });
      const again = await t.call('POST', '/api/v1/shorten', { key: a, body: { url } });
      const other = await t.call('POST', '/api/v1/shorten', { key: b, body: { url } });
      const k1 = expectData(first, 201).key;
      expect(expectData(again, 200).key).toBe(k1);
      const k2 = expectData(other, 201).key;
      expect(k2).toMatch(/^[0-9A-Za-z]{7}$/);
      expect(k2).not.toBe(k1);
      const another = expectData(await t.call('POST', '/api/v1/shorten', { key: a, body: { url: `${url}/2` } }), 201).key;
      expect(another).not.toBe(k1);
      expect((await t.call('GET', '/api/v1/links', { key: a })).json().data).toHaveLength(2);
      expect((await t.call('GET', `/${k2}`)).headers.location).toBe(url);
    } finally {
      await t.close();
    }
  });

  it('KEY_STRATEGY=random makes distinct 7-character keys that redirect', async () => {
    const t = await makeTestApp({ KEY_STRATEGY: 'random' });
    try {
      const keys = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const d = expectData(await t.call('POST', '/api/v1/shorten', { key: t.adminKey, body: { url: 'https://example.com/same' } }), 201);
        expect(d.key).toMatch(/^[0-9A-Za-z]{7}$/);
        keys.add(d.key);
      }
      expect(keys.size).toBe(20);
      const [k] = keys;
      expect((await t.call('GET', `/${k}`)).headers.location).toBe('https://example.com/same');
    } finally {
      await t.close();
    }
  });
});

describe('links API: Idempotency-Key', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });
  afterAll(() => t.close());

  const count = async (key: string) => (await t.call('GET', '/api/v1/links?limit=100', { key })).json().data.length as number;

  it('replays the first response for the same key and body, and creates one link', async () => {
    const key = await t.newAccountKey('idem-replay');
    const headers = { 'idempotency-key': 'order-123' };
    const body = { url: 'https://example.com/idem' };
    const first = await t.call('POST', '/api/v1/links', { key, body, headers });
    expect(first.statusCode).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const second = await t.call('POST', '/api/v1/links', { key, body, headers });
    expect(second.statusCode).toBe(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.json()).toEqual(first.json());
    expect(await count(key)).toBe(1);

    expectError(
      await t.call('POST', '/api/v1/links', { key, body: { url: 'https://example.com/other' }, headers }),
      422,
      'IDEMPOTENCY_KEY_REUSED',
    );
    expect(await count(key)).toBe(1);

    // Keys are per account: another account with the same Idempotency-Key gets its own link.
    const other = await t.newAccountKey('idem-other');
    const theirs = await t.call('POST', '/api/v1/links', { key: other, body, headers });
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
    expect(expectData(theirs, 201).key).not.toBe(first.json().data.key);
  });

  it('concurrent requests with the same key create exactly one link', async () => {
    const key = await t.newAccountKey('idem-race');
    const headers = { 'idempotency-key': 'race-1' };
    // The password makes creation slow (scrypt on the thread pool), so the requests overlap.
    const body = { url: 'https://example.com/race', password: 'slow-to-hash' };
    const all = await Promise.all(Array.from({ length: 12 }, () => t.call('POST', '/api/v1/links', { key, body, headers })));
    const ok = all.filter((r) => r.statusCode === 201);
    expect(all.some((r) => r.statusCode === 409), 'the requests overlapped').toBe(true);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(new Set(ok.map((r) => r.json().data.key)).size).toBe(1);
    for (const r of all.filter((x) => x.statusCode !== 201)) expectError(r, 409, 'IDEMPOTENCY_IN_PROGRESS');
    expect(await count(key)).toBe(1);
    const later = await t.call('POST', '/api/v1/links', { key, body, headers });
    expect(later.headers['idempotent-replayed']).toBe('true');
    expect(later.json().data.key).toBe(ok[0]!.json().data.key);
  });
});

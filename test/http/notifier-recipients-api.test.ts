import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { expectData, expectError, fakeClock } from './support.js';

const PUSH = { kind: 'web_push', address: 'https://push.example.com/sub/1', keys: { p256dh: 'B'.repeat(87), auth: 'a'.repeat(22) } };

describe('notifier API: recipients, contact points, preferences', () => {
  let t: TestApp;
  let alice: string;
  let bob: string;
  beforeAll(async () => {
    t = await makeTestApp({}, { clock: 'fake' });
    alice = await t.newAccountKey('alice');
    bob = await t.newAccountKey('bob');
  });
  afterAll(() => t.close());

  it('creates a recipient with contact points, canonical locale, and never echoes push keys', async () => {
    const res = await t.call('POST', '/api/v1/recipients', {
      key: alice,
      body: { id: 'user-42', locale: 'de-at', time_zone: 'Europe/Vienna', contacts: [{ kind: 'email', address: 'ada@example.com' }, PUSH] },
    });
    const d = expectData(res, 201);
    const now = new Date(t.clock.now()).toISOString();
    expect(d).toMatchObject({ id: 'user-42', locale: 'de-AT', time_zone: 'Europe/Vienna', created_at: now, updated_at: now });
    expect(d.contacts.map((c: any) => [c.kind, c.address, c.valid])).toEqual([
      ['email', 'ada@example.com', true],
      ['web_push', PUSH.address, true],
    ]);
    expect(res.body).not.toContain(PUSH.keys.auth);
    expect(expectData(await t.call('GET', '/api/v1/recipients/user-42', { key: alice }))).toEqual(d);
  });

  it('uses the default locale and zone, and answers 409 for a taken id in the same account only', async () => {
    const d = expectData(await t.call('POST', '/api/v1/recipients', { key: alice, body: { id: 'plain' } }), 201);
    expect(d).toMatchObject({ locale: 'en', time_zone: 'UTC', contacts: [] });
    expectError(await t.call('POST', '/api/v1/recipients', { key: alice, body: { id: 'plain' } }), 409, 'RECIPIENT_EXISTS');
    expectData(await t.call('POST', '/api/v1/recipients', { key: bob, body: { id: 'plain' } }), 201);
  });

  it("hides another account's recipients as 404", async () => {
    for (const [method, url, body] of [
      ['GET', '/api/v1/recipients/user-42', undefined],
      ['PATCH', '/api/v1/recipients/user-42', { locale: 'en' }],
      ['DELETE', '/api/v1/recipients/user-42', undefined],
      ['GET', '/api/v1/recipients/user-42/preferences', undefined],
      ['PUT', '/api/v1/recipients/user-42/preferences', { opt_out: true }],
      ['POST', '/api/v1/recipients/user-42/contacts', { kind: 'email', address: 'x@example.com' }],
    ] as const) {
      expectError(await t.call(method, url, { key: bob, body }), 404, 'RECIPIENT_NOT_FOUND');
    }
    expect(expectData(await t.call('GET', '/api/v1/recipients/user-42', { key: alice })).locale).toBe('de-AT');
  });

  it('PATCH changes locale and zone only', async () => {
    fakeClock(t).advance(1000);
    const d = expectData(await t.call('PATCH', '/api/v1/recipients/user-42', { key: alice, body: { time_zone: 'Asia/Tokyo' } }));
    expect(d).toMatchObject({ locale: 'de-AT', time_zone: 'Asia/Tokyo', updated_at: new Date(t.clock.now()).toISOString() });
    expect(d.contacts).toHaveLength(2);
  });

  it('adds, invalidates and removes contact points', async () => {
    await t.call('POST', '/api/v1/recipients', { key: alice, body: { id: 'c1' } });
    const phone = expectData(await t.call('POST', '/api/v1/recipients/c1/contacts', { key: alice, body: { kind: 'phone', address: '+4915112345678' } }), 201);
    expect(phone).toMatchObject({ kind: 'phone', address: '+4915112345678', valid: true });
    expectError(await t.call('POST', '/api/v1/recipients/c1/contacts', { key: alice, body: { kind: 'phone', address: '+4915112345678' } }), 409, 'CONTACT_POINT_EXISTS');
    const off = expectData(await t.call('PATCH', `/api/v1/recipients/c1/contacts/${phone.id}`, { key: alice, body: { valid: false } }));
    expect(off.valid).toBe(false);
    expectError(await t.call('PATCH', `/api/v1/recipients/user-42/contacts/${phone.id}`, { key: alice, body: { valid: true } }), 404, 'CONTACT_POINT_NOT_FOUND');
    expectError(await t.call('DELETE', `/api/v1/recipients/c1/contacts/${phone.id}`, { key: bob }), 404, 'CONTACT_POINT_NOT_FOUND');
    const del = await t.call('DELETE', `/api/v1/recipients/c1/contacts/${phone.id}`, { key: alice });
    expect(del.statusCode).toBe(204);
    expect(expectData(await t.call('GET', '/api/v1/recipients/c1', { key: alice })).contacts).toEqual([]);
  });

  it('preferences: defaults, replace, read back, and gone with the recipient', async () => {
    await t.call('POST', '/api/v1/recipients', { key: alice, body: { id: 'p1', time_zone: 'Europe/Berlin' } });
    expect(expectData(await t.call('GET', '/api/v1/recipients/p1/preferences', { key: alice }))).toEqual({ opt_out: false, categories: {}, quiet_hours: null });
    const prefs = {
      opt_out: false,
      categories: { marketing: { enabled: false }, social: { channels: { email: false, sms: true } } },
      quiet_hours: { start: '22:00', end: '07:00' },
    };
    const put = expectData(await t.call('PUT', '/api/v1/recipients/p1/preferences', { key: alice, body: prefs }));
    const expected = {
      opt_out: false,
      categories: { marketing: { enabled: false, channels: {} }, social: { enabled: true, channels: { email: false, sms: true } } },
      quiet_hours: { start: '22:00', end: '07:00' },
    };
    expect(put).toEqual(expected);
    expect(expectData(await t.call('GET', '/api/v1/recipients/p1/preferences', { key: alice }))).toEqual(expected);
    expect((await t.call('DELETE', '/api/v1/recipients/p1', { key: alice })).statusCode).toBe(204);
    expectError(await t.call('GET', '/api/v1/recipients/p1/preferences', { key: alice }), 404, 'RECIPIENT_NOT_FOUND');
    expectError(await t.call('DELETE', '/api/v1/recipients/p1', { key: alice }), 404, 'RECIPIENT_NOT_FOUND');
  });

  it('lists with cursor pagination, each recipient once, only the own account', async () => {
    const key = await t.newAccountKey('lister');
    const ids = Array.from({ length: 7 }, (_, i) => `r-${String.fromCharCode(103 - i)}`);
    for (const id of ids) await t.call('POST', '/api/v1/recipients', { key, body: { id, contacts: [{ kind: 'email', address: `${id}@example.com` }] } });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.call('GET', `/api/v1/recipients?limit=3${cursor ? `&cursor=${cursor}` : ''}`, { key });
      const body = res.json();
      expect(body.pagination.limit).toBe(3);
      expect(body.data.every((r: any) => r.contacts.length === 1)).toBe(true);
      seen.push(...body.data.map((r: any) => r.id));
      cursor = body.pagination.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].sort());
  });

  it('refuses a categories cursor on the recipients list', async () => {
    const cats = await t.call('GET', '/api/v1/categories?limit=1', { key: alice });
    expect(cats.statusCode).toBe(200);
    const forged = Buffer.from(JSON.stringify(['categories', 'x'])).toString('base64url');
    expectError(await t.call('GET', `/api/v1/recipients?cursor=${forged}`, { key: alice }), 400, 'INVALID_CURSOR');
  });

  it('replays a create with the same Idempotency-Key instead of answering 409', async () => {
    const headers = { 'idempotency-key': 'create-idem-1' };
    const first = await t.call('POST', '/api/v1/recipients', { key: alice, body: { id: 'idem' }, headers });
    const again = await t.call('POST', '/api/v1/recipients', { key: alice, body: { id: 'idem' }, headers });
    expect(expectData(first, 201)).toEqual(expectData(again, 201));
    expectError(await t.call('POST', '/api/v1/recipients', { key: alice, body: { id: 'idem-2' }, headers }), 422, 'IDEMPOTENCY_KEY_REUSED');
  });

  it('needs an API key', async () => {
    expectError(await t.call('GET', '/api/v1/recipients'), 401, 'UNAUTHORIZED');
  });
});

describe('notifier API: default locale, zone and render budget from config', () => {
  let t: TestApp;
  let key: string;
  beforeAll(async () => {
    t = await makeTestApp({ NOTIFY_DEFAULT_LOCALE: 'de-at', NOTIFY_DEFAULT_TIME_ZONE: 'Asia/Tokyo' });
    key = await t.newAccountKey('defaults');
  });
  afterAll(() => t.close());

  it('gives new recipients the configured locale (canonical) and zone, and falls back to that locale', async () => {
    expect(expectData(await t.call('POST', '/api/v1/recipients', { key, body: { id: 'd' } }), 201)).toMatchObject({ locale: 'de-AT', time_zone: 'Asia/Tokyo' });
    await t.call('PUT', '/api/v1/templates/t/sms/de', { key, body: { body: 'de' } });
    const out = expectData(await t.call('POST', '/api/v1/templates/t/render', { key, body: { channel: 'sms', locale: 'ja', data: {} } }));
    expect(out).toMatchObject({ locale: 'de', body: 'de' });
  });

  it.each([
    [{ NOTIFY_DEFAULT_LOCALE: 'not a locale' }, /NOTIFY_DEFAULT_LOCALE/],
    [{ NOTIFY_DEFAULT_TIME_ZONE: 'Mars/Olympus' }, /NOTIFY_DEFAULT_TIME_ZONE/],
    [{ NOTIFY_TEMPLATE_RENDER_MS: '0' }, /NOTIFY_TEMPLATE_RENDER_MS/],
  ])('refuses to start with %j', async (env, message) => {
    await expect(makeTestApp(env)).rejects.toThrow(message);
  });
});

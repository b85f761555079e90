import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { expectData, expectError } from './support.js';

describe('notifier API: categories and templates', () => {
  let t: TestApp;
  let alice: string;
  let bob: string;
  beforeAll(async () => {
    t = await makeTestApp({}, { clock: 'fake' });
    alice = await t.newAccountKey('alice');
    bob = await t.newAccountKey('bob');
  });
  afterAll(() => t.close());

  it('creates, reads, replaces, lists and deletes a category', async () => {
    const body = {
      name: 'security',
      description: 'Sign-ins',
      default_channels: ['web_push', 'email'],
      fallback: ['web_push', 'email', 'sms'],
      critical: true,
      frequency_cap: { count: 10, window_seconds: 3600 },
    };
    const created = expectData(await t.call('POST', '/api/v1/categories', { key: alice, body }), 201);
    expect(created).toMatchObject(body);
    expectError(await t.call('POST', '/api/v1/categories', { key: alice, body }), 409, 'CATEGORY_EXISTS');
    expect(expectData(await t.call('GET', '/api/v1/categories/security', { key: alice }))).toEqual(created);
    expectError(await t.call('GET', '/api/v1/categories/security', { key: bob }), 404, 'CATEGORY_NOT_FOUND');

    const replaced = expectData(await t.call('PUT', '/api/v1/categories/security', { key: alice, body: { default_channels: ['email'] } }));
    expect(replaced).toMatchObject({ name: 'security', description: '', default_channels: ['email'], fallback: [], critical: false, frequency_cap: null });
    expectError(await t.call('PUT', '/api/v1/categories/nope', { key: alice, body: { default_channels: ['email'] } }), 404, 'CATEGORY_NOT_FOUND');

    for (const name of ['social', 'marketing']) await t.call('POST', '/api/v1/categories', { key: alice, body: { name, default_channels: ['email'] } });
    const first = (await t.call('GET', '/api/v1/categories?limit=2', { key: alice })).json();
    expect(first.data.map((c: any) => c.name)).toEqual(['marketing', 'security']);
    const second = (await t.call('GET', `/api/v1/categories?limit=2&cursor=${first.pagination.next_cursor}`, { key: alice })).json();
    expect(second.data.map((c: any) => c.name)).toEqual(['social']);
    expect(second.pagination.next_cursor).toBeNull();
    expect(expectData(await t.call('GET', '/api/v1/categories', { key: bob }))).toEqual([]);

    expect((await t.call('DELETE', '/api/v1/categories/social', { key: alice })).statusCode).toBe(204);
    expectError(await t.call('DELETE', '/api/v1/categories/social', { key: alice }), 404, 'CATEGORY_NOT_FOUND');
  });

  it('puts templates (201 then 200), gets, lists by name and deletes them', async () => {
    const body = { subject: 'Hallo {{ name }}', body: 'Hallo {{ name }}!', html: '<p>Hallo {{ name }}</p>' };
    const created = expectData(await t.call('PUT', '/api/v1/templates/welcome/email/de', { key: alice, body }), 201);
    expect(created).toMatchObject({ name: 'welcome', channel: 'email', locale: 'de', ...body });
    const replaced = expectData(await t.call('PUT', '/api/v1/templates/welcome/email/de', { key: alice, body: { body: 'Servus {{ name }}' } }), 200);
    expect(replaced).toMatchObject({ subject: null, body: 'Servus {{ name }}', html: null, created_at: created.created_at });
    expect(expectData(await t.call('GET', '/api/v1/templates/welcome/email/de', { key: alice }))).toEqual(replaced);
    expectError(await t.call('GET', '/api/v1/templates/welcome/email/de', { key: bob }), 404, 'TEMPLATE_NOT_FOUND');
    await t.call('PUT', '/api/v1/templates/welcome/email/en', { key: alice, body: { body: 'Hello {{ name }}' } });
    await t.call('PUT', '/api/v1/templates/other/sms/en', { key: alice, body: { body: 'x' } });
    const welcome = expectData(await t.call('GET', '/api/v1/templates?name=welcome', { key: alice }));
    expect(welcome.map((x: any) => x.locale)).toEqual(['de', 'en']);
    const all = (await t.call('GET', '/api/v1/templates?limit=2', { key: alice })).json();
    const rest = (await t.call('GET', `/api/v1/templates?limit=2&cursor=${all.pagination.next_cursor}`, { key: alice })).json();
    expect([...all.data, ...rest.data].map((x: any) => `${x.name}/${x.channel}/${x.locale}`)).toEqual(['other/sms/en', 'welcome/email/de', 'welcome/email/en']);
    expect((await t.call('DELETE', '/api/v1/templates/other/sms/en', { key: alice })).statusCode).toBe(204);
    expectError(await t.call('DELETE', '/api/v1/templates/other/sms/en', { key: alice }), 404, 'TEMPLATE_NOT_FOUND');
  });

  it('renders with locale fallback de-AT → de → en, escaping only the HTML part', async () => {
    await t.call('PUT', '/api/v1/templates/alert/email/de', { key: alice, body: { subject: 'Hi {{ who }}', body: 'DE {{ who }}', html: '<b>{{ who }}</b>' } });
    await t.call('PUT', '/api/v1/templates/alert/email/en', { key: alice, body: { body: 'EN {{ who }}' } });
    const de = expectData(await t.call('POST', '/api/v1/templates/alert/render', { key: alice, body: { channel: 'email', locale: 'de-AT', data: { who: '<Ada>' } } }));
    expect(de).toEqual({ locale: 'de', subject: 'Hi <Ada>', body: 'DE <Ada>', html: '<b>&lt;Ada&gt;</b>' });
    const fr = expectData(await t.call('POST', '/api/v1/templates/alert/render', { key: alice, body: { channel: 'email', locale: 'fr-CA', data: { who: 'Bo' } } }));
    expect(fr).toEqual({ locale: 'en', subject: null, body: 'EN Bo', html: null });
    expectError(await t.call('POST', '/api/v1/templates/alert/render', { key: alice, body: { channel: 'sms', locale: 'de', data: {} } }), 404, 'TEMPLATE_NOT_FOUND');
    expectError(await t.call('POST', '/api/v1/templates/alert/render', { key: bob, body: { channel: 'email', locale: 'de', data: { who: 'x' } } }), 404, 'TEMPLATE_NOT_FOUND');
  });

  it('answers 422 TEMPLATE_VARIABLES_MISSING listing every missing name', async () => {
    await t.call('PUT', '/api/v1/templates/order/email/en', { key: alice, body: { subject: 'Order {{ order.id }}', body: '{{ user.name }}: {{ total }}' } });
    const err = expectError(
      await t.call('POST', '/api/v1/templates/order/render', { key: alice, body: { channel: 'email', locale: 'en', data: { user: {} } } }),
      422,
      'TEMPLATE_VARIABLES_MISSING',
    );
    expect(err.error.details?.map((d) => d.field).sort()).toEqual(['data.order.id', 'data.total', 'data.user.name']);
  });

  it('refuses a broken template before storing it', async () => {
    const err = expectError(await t.call('PUT', '/api/v1/templates/bad/email/en', { key: alice, body: { body: '{% include "x" %}', html: '{{ a | nope }}' } }), 422, 'TEMPLATE_INVALID');
    expect(err.error.details?.map((d) => d.field)).toEqual(['body', 'html']);
    expectError(await t.call('GET', '/api/v1/templates/bad/email/en', { key: alice }), 404, 'TEMPLATE_NOT_FOUND');
  });

  it('answers 422 TEMPLATE_RENDER_LIMIT for a runaway loop', async () => {
    await t.call('PUT', '/api/v1/templates/loop/sms/en', { key: alice, body: { body: '{% for i in (1..100000000) %}{{ i }}{% endfor %}' } });
    expectError(await t.call('POST', '/api/v1/templates/loop/render', { key: alice, body: { channel: 'sms', locale: 'en', data: {} } }), 422, 'TEMPLATE_RENDER_LIMIT');
  });
});

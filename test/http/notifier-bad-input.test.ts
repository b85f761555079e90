import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { expectError } from './support.js';

type Row = [method: string, url: string, body: unknown, status: number, code: string, field?: string];

/** Each row: a bad request to the notifier API, its exact status and error code (and the field named first). */
const ROWS: Row[] = [
  // recipients
  ['POST', '/api/v1/recipients', {}, 422, 'VALIDATION_ERROR', 'id'],
  ['POST', '/api/v1/recipients', { id: 'has space' }, 422, 'VALIDATION_ERROR', 'id'],
  ['POST', '/api/v1/recipients', { id: 'x'.repeat(129) }, 422, 'VALIDATION_ERROR', 'id'],
  ['POST', '/api/v1/recipients', { id: 42 }, 422, 'VALIDATION_ERROR', 'id'],
  ['POST', '/api/v1/recipients', { id: 'u', extra: 1 }, 422, 'VALIDATION_ERROR', 'extra'],
  ['POST', '/api/v1/recipients', { id: 'u', locale: 'not a locale!' }, 422, 'VALIDATION_ERROR', 'locale'],
  ['POST', '/api/v1/recipients', { id: 'u', time_zone: 'Mars/Olympus' }, 422, 'VALIDATION_ERROR', 'time_zone'],
  ['POST', '/api/v1/recipients', { id: 'u', contacts: [{ kind: 'pigeon', address: 'x' }] }, 422, 'VALIDATION_ERROR', 'contacts.0.kind'],
  ['POST', '/api/v1/recipients', { id: 'u', contacts: [{ kind: 'email', address: 'not-an-email' }] }, 422, 'VALIDATION_ERROR', 'contacts.0.address'],
  ['POST', '/api/v1/recipients', { id: 'u', contacts: [{ kind: 'phone', address: '015112345678' }] }, 422, 'VALIDATION_ERROR', 'contacts.0.address'],
  ['POST', '/api/v1/recipients', { id: 'u', contacts: [{ kind: 'phone', address: '+0123' }] }, 422, 'VALIDATION_ERROR', 'contacts.0.address'],
  ['POST', '/api/v1/recipients', { id: 'u', contacts: [{ kind: 'web_push', address: 'http://push.example.com/x', keys: { p256dh: 'B'.repeat(87), auth: 'a'.repeat(22) } }] }, 422, 'VALIDATION_ERROR', 'contacts.0.address'],
  ['POST', '/api/v1/recipients', { id: 'u', contacts: [{ kind: 'web_push', address: 'https://push.example.com/x' }] }, 422, 'VALIDATION_ERROR', 'contacts.0.keys'],
  ['POST', '/api/v1/recipients', { id: 'u', contacts: [{ kind: 'email', address: 'a@example.com', keys: { p256dh: 'B'.repeat(87), auth: 'a'.repeat(22) } }] }, 422, 'VALIDATION_ERROR', 'contacts.0.keys'],
  ['POST', '/api/v1/recipients', { id: 'u', contacts: [{ kind: 'webhook', address: 'ftp://example.com/hook' }] }, 422, 'VALIDATION_ERROR', 'contacts.0.address'],
  ['POST', '/api/v1/recipients', { id: 'u', contacts: [{ kind: 'webhook', address: 'https://user:pw@example.com/hook' }] }, 422, 'VALIDATION_ERROR', 'contacts.0.address'],
  ['POST', '/api/v1/recipients', { id: 'u', contacts: [{ kind: 'fcm', address: 'short' }] }, 422, 'VALIDATION_ERROR', 'contacts.0.address'],
  ['POST', '/api/v1/recipients', { id: 'u', contacts: [{ kind: 'email', address: 'a@example.com' }, { kind: 'email', address: 'a@example.com' }] }, 422, 'VALIDATION_ERROR', 'contacts.1'],
  ['POST', '/api/v1/recipients', 'id=u', 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ['PATCH', '/api/v1/recipients/known', { time_zone: 'Europe/Nowhere' }, 422, 'VALIDATION_ERROR', 'time_zone'],
  ['PATCH', '/api/v1/recipients/known', { id: 'other' }, 422, 'VALIDATION_ERROR', 'id'],
  ['GET', '/api/v1/recipients/unknown', undefined, 404, 'RECIPIENT_NOT_FOUND'],
  ['GET', '/api/v1/recipients?limit=0', undefined, 422, 'VALIDATION_ERROR', 'limit'],
  ['GET', '/api/v1/recipients?limit=101', undefined, 422, 'VALIDATION_ERROR', 'limit'],
  ['GET', '/api/v1/recipients?cursor=!!', undefined, 400, 'INVALID_CURSOR', 'cursor'],
  ['GET', '/api/v1/recipients?cursor=bm90LWpzb24', undefined, 400, 'INVALID_CURSOR', 'cursor'],
  ['GET', '/api/v1/recipients?sort=id', undefined, 422, 'VALIDATION_ERROR', 'sort'],
  ['POST', '/api/v1/recipients/unknown/contacts', { kind: 'email', address: 'a@example.com' }, 404, 'RECIPIENT_NOT_FOUND'],
  ['POST', '/api/v1/recipients/known/contacts', { kind: 'email' }, 422, 'VALIDATION_ERROR', 'address'],
  ['PATCH', '/api/v1/recipients/known/contacts/999999', { valid: true }, 404, 'CONTACT_POINT_NOT_FOUND'],
  ['PATCH', '/api/v1/recipients/known/contacts/abc', { valid: true }, 422, 'VALIDATION_ERROR', 'contactId'],
  ['PATCH', '/api/v1/recipients/known/contacts/99999999999999999999', { valid: true }, 422, 'VALIDATION_ERROR', 'contactId'],
  ['DELETE', '/api/v1/recipients/known/contacts/0', undefined, 422, 'VALIDATION_ERROR', 'contactId'],
  ['PATCH', '/api/v1/recipients/known/contacts/1', { valid: 'yes' }, 422, 'VALIDATION_ERROR', 'valid'],
  // preferences
  ['PUT', '/api/v1/recipients/known/preferences', { quiet_hours: { start: '25:00', end: '07:00' } }, 422, 'VALIDATION_ERROR', 'quiet_hours.start'],
  ['PUT', '/api/v1/recipients/known/preferences', { quiet_hours: { start: '7:00', end: '07:00' } }, 422, 'VALIDATION_ERROR', 'quiet_hours.start'],
  ['PUT', '/api/v1/recipients/known/preferences', { quiet_hours: { start: '07:00', end: '07:00' } }, 422, 'VALIDATION_ERROR', 'quiet_hours.end'],
  ['PUT', '/api/v1/recipients/known/preferences', { categories: { social: { channels: { carrier_pigeon: true } } } }, 422, 'VALIDATION_ERROR', 'categories.social.channels.carrier_pigeon'],
  ['PUT', '/api/v1/recipients/known/preferences', { categories: { 'Bad Name': { enabled: false } } }, 422, 'VALIDATION_ERROR', 'categories.Bad Name'],
  ['PUT', '/api/v1/recipients/known/preferences', { opt_out: 'true' }, 422, 'VALIDATION_ERROR', 'opt_out'],
  ['PUT', '/api/v1/recipients/known/preferences', { categories: { social: { muted: true } } }, 422, 'VALIDATION_ERROR', 'categories.social.muted'],
  ['PUT', '/api/v1/recipients/unknown/preferences', {}, 404, 'RECIPIENT_NOT_FOUND'],
  // categories
  ['POST', '/api/v1/categories', { name: 'x' }, 422, 'VALIDATION_ERROR', 'default_channels'],
  ['POST', '/api/v1/categories', { name: 'Has Caps', default_channels: ['email'] }, 422, 'VALIDATION_ERROR', 'name'],
  ['POST', '/api/v1/categories', { name: 'ok', default_channels: [] }, 422, 'VALIDATION_ERROR', 'default_channels'],
  ['POST', '/api/v1/categories', { name: 'ok', default_channels: ['fax'] }, 422, 'VALIDATION_ERROR', 'default_channels.0'],
  ['POST', '/api/v1/categories', { name: 'ok', default_channels: ['email', 'email'] }, 422, 'VALIDATION_ERROR', 'default_channels.1'],
  ['POST', '/api/v1/categories', { name: 'ok', default_channels: ['email'], fallback: ['sms', 'telegram'] }, 422, 'VALIDATION_ERROR', 'fallback.1'],
  ['POST', '/api/v1/categories', { name: 'ok', default_channels: ['email'], frequency_cap: { count: 0, window_seconds: 60 } }, 422, 'VALIDATION_ERROR', 'frequency_cap.count'],
  ['POST', '/api/v1/categories', { name: 'ok', default_channels: ['email'], frequency_cap: { count: 1, window_seconds: 0 } }, 422, 'VALIDATION_ERROR', 'frequency_cap.window_seconds'],
  ['POST', '/api/v1/categories', { name: 'ok', default_channels: ['email'], frequency_cap: { count: 1, window_seconds: 10 ** 9 } }, 422, 'VALIDATION_ERROR', 'frequency_cap.window_seconds'],
  ['POST', '/api/v1/categories', { name: 'ok', default_channels: ['email'], critical: 1 }, 422, 'VALIDATION_ERROR', 'critical'],
  ['GET', '/api/v1/categories/unknown', undefined, 404, 'CATEGORY_NOT_FOUND'],
  ['PUT', '/api/v1/categories/unknown', { default_channels: ['email'] }, 404, 'CATEGORY_NOT_FOUND'],
  // templates
  ['PUT', '/api/v1/templates/Bad%20Name/email/en', { body: 'x' }, 422, 'VALIDATION_ERROR', 'name'],
  ['PUT', '/api/v1/templates/ok/fax/en', { body: 'x' }, 422, 'VALIDATION_ERROR', 'channel'],
  ['PUT', '/api/v1/templates/ok/email/!!', { body: 'x' }, 422, 'VALIDATION_ERROR', 'locale'],
  ['PUT', '/api/v1/templates/ok/email/en', {}, 422, 'VALIDATION_ERROR', 'body'],
  ['PUT', '/api/v1/templates/ok/email/en', { body: '{{ x ' }, 422, 'TEMPLATE_INVALID', 'body'],
  ['PUT', '/api/v1/templates/ok/email/en', { body: 'x'.repeat(70_000) }, 422, 'TEMPLATE_INVALID', 'body'],
  ['PUT', '/api/v1/templates/ok/email/en', { body: '{% layout "base" %}' }, 422, 'TEMPLATE_INVALID', 'body'],
  ['GET', '/api/v1/templates/unknown/email/en', undefined, 404, 'TEMPLATE_NOT_FOUND'],
  ['GET', '/api/v1/templates?cursor=' + Buffer.from(JSON.stringify(['recipients', 'a'])).toString('base64url'), undefined, 400, 'INVALID_CURSOR', 'cursor'],
  ['POST', '/api/v1/templates/known/render', { channel: 'email' }, 422, 'VALIDATION_ERROR', 'locale'],
  ['POST', '/api/v1/templates/known/render', { channel: 'email', locale: 'en', data: [] }, 422, 'VALIDATION_ERROR', 'data'],
  ['POST', '/api/v1/templates/known/render', { channel: 'email', locale: 'en', data: {} }, 422, 'TEMPLATE_VARIABLES_MISSING', 'data.name'],
  ['POST', '/api/v1/templates/known/render', { channel: 'sms', locale: 'en', data: { name: 'x' } }, 404, 'TEMPLATE_NOT_FOUND'],
];

describe('notifier API: bad input → exact status and code', () => {
  let t: TestApp;
  let key: string;
  beforeAll(async () => {
    // A body limit above the template size limit, so the template's own limit is what answers.
    t = await makeTestApp({ BODY_LIMIT: '262144' });
    key = await t.newAccountKey('bad-input');
    expect((await t.call('POST', '/api/v1/recipients', { key, body: { id: 'known' } })).statusCode).toBe(201);
    expect((await t.call('PUT', '/api/v1/templates/known/email/en', { key, body: { body: 'Hi {{ name }}' } })).statusCode).toBe(201);
  });
  afterAll(() => t.close());

  // Titles show the request cut to 80 characters; the row itself is looked up by index.
  const titles = ROWS.map((row, i) => [row[0], row[1].slice(0, 80), String(JSON.stringify(row[2])).slice(0, 80), row[3], row[4], i] as const);
  it.each(titles)('%s %s %s → %i %s', async (_method, _url, _body, _status, _code, i) => {
    const [method, url, body, status, code, field] = ROWS[i]!;
    const headers: Record<string, string> = typeof body === 'string' ? { 'content-type': 'text/plain' } : {};
    const res = await t.call(method, url, { key, body, headers });
    const err = expectError(res, status, code);
    if (field !== undefined) expect(err.error.details?.[0]?.field, res.body).toBe(field);
  });
});

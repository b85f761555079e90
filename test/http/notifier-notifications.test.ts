import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecordingServer, type RecordingServer } from '../channels/recording-server.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { expectData, expectError } from './support.js';

/**
 * The send pipeline through the HTTP API with real in-process workers on a SQLite file: a
 * local webhook receiver stands in for the customer's endpoint, the console channel is the
 * fallback. Retries are fast here (NOTIFY_RETRY_BASE_MS=20, 3 attempts).
 */
describe('notifications API: accept → decide → queue → deliver → record', () => {
  let t: TestApp;
  let key: string;
  let hook: RecordingServer;

  async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const get = async (id: string) => expectData(await t.call('GET', `/api/v1/notifications/${id}`, { key }));
  const channelOf = async (id: string, channel: string) => ((await get(id)).channels as any[]).find((c) => c.channel === channel);
  const statusIs = (id: string, channel: string, status: string) => async () => {
    const c = await channelOf(id, channel);
    return c?.status === status ? c : undefined;
  };
  const send = (body: Record<string, unknown>, headers: Record<string, string> = {}) => t.call('POST', '/api/v1/notifications', { key, body, headers });

  beforeAll(async () => {
    hook = await startRecordingServer();
    t = await makeTestApp({
      NOTIFY_WEBHOOK_SECRET: 'whsec_c2VjcmV0',
      NOTIFY_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
      NOTIFY_MAX_ATTEMPTS: '3',
      NOTIFY_RETRY_BASE_MS: '20',
      NOTIFY_WORKERS: '2',
    });
    key = await t.newAccountKey('sender');
    const setup: [string, string, unknown][] = [
      ['POST', '/api/v1/recipients', { id: 'ada', contacts: [{ kind: 'webhook', address: `${hook.url}/hooks/ada` }] }],
      ['POST', '/api/v1/recipients', { id: 'bob' }],
      ['POST', '/api/v1/categories', { name: 'security', default_channels: ['webhook'], fallback: ['webhook', 'console'] }],
      ['POST', '/api/v1/categories', { name: 'news', default_channels: ['webhook', 'email'] }],
      ['PUT', '/api/v1/templates/alert/webhook/en', { subject: 'Alert', body: 'Hi {{ name }}' }],
      ['PUT', '/api/v1/templates/alert/console/en', { subject: 'Alert', body: 'Hi {{ name }} (console)' }],
      ['PUT', '/api/v1/templates/alert/email/en', { subject: 'Alert', body: 'Hi {{ name }}' }],
    ];
    for (const [method, url, body] of setup) {
      const res = await t.call(method, url, { key, body });
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
    }
  });
  afterAll(async () => {
    await t.close();
    await hook.close();
  });

  it('accepts with 202, delivers to the webhook with the delivery id as webhook-id, and records the steps', async () => {
    const res = await send({ recipient: 'ada', category: 'security', template: 'alert', data: { name: 'Ada' } });
    const d = expectData(res, 202);
    expect(d.id).toMatch(/^ntf_/);
    expect(d.channels).toEqual([{ channel: 'webhook', status: 'queued', delivery_id: `${d.id}.webhook` }]);
    const sent = await until('webhook sent', statusIs(d.id, 'webhook', 'sent'));
    expect(sent.attempts).toBe(1);
    expect(sent.log.map((e: any) => e.event)).toEqual(['queued', 'claimed', 'sent']);
    const got = hook.requests.filter((r) => r.headers['webhook-id'] === `${d.id}.webhook`);
    expect(got).toHaveLength(1);
    expect(JSON.parse(got[0]!.body.toString())).toMatchObject({ type: 'notification.security' });
  });

  it('replays the first answer for the same Idempotency-Key and sends nothing new; a changed body is 422', async () => {
    const body = { recipient: 'ada', category: 'security', template: 'alert', data: { name: 'Once' } };
    const first = expectData(await send(body, { 'idempotency-key': 'k-1' }), 202);
    const again = await send(body, { 'idempotency-key': 'k-1' });
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(expectData(again, 202)).toEqual(first);
    expectError(await send({ ...body, data: { name: 'Twice' } }, { 'idempotency-key': 'k-1' }), 422, 'IDEMPOTENCY_KEY_REUSED');
    await until('sent', statusIs(first.id, 'webhook', 'sent'));
    await new Promise((r) => setTimeout(r, 100));
    const bodies = hook.requests.map((r) => r.body.toString()).filter((b) => b.includes('Once') || b.includes('Twice'));
    expect(bodies).toHaveLength(1);
    const viaBody = expectData(await send({ ...body, data: { name: 'Body' }, idempotency_key: 'k-2' }), 202);
    expect(expectData(await send({ ...body, data: { name: 'Body' }, idempotency_key: 'k-2' }), 202)).toEqual(viaBody);
    expectError(await send({ ...body, data: { name: 'Body2' }, idempotency_key: 'k-2' }), 422, 'IDEMPOTENCY_KEY_REUSED');
    const list = expectData<any[]>(await t.call('GET', '/api/v1/notifications?recipient=ada&limit=100', { key }));
    expect(list.filter((n) => n.id === first.id)).toHaveLength(1);
  });

  it('answers suppressed with the reason per channel (no contact point, opted out) and 422 for missing variables', async () => {
    const d = expectData(await send({ recipient: 'ada', category: 'news', template: 'alert', data: { name: 'x' } }), 202);
    expect(d.channels).toEqual([
      { channel: 'webhook', status: 'queued', delivery_id: `${d.id}.webhook` },
      { channel: 'email', status: 'suppressed', reason: 'no_contact_point' },
    ]);
    await t.call('PUT', '/api/v1/recipients/ada/preferences', { key, body: { categories: { news: { enabled: false } } } });
    const off = expectData(await send({ recipient: 'ada', category: 'news', template: 'alert', data: { name: 'x' }, channels: ['webhook'] }), 202);
    expect(off.channels).toEqual([{ channel: 'webhook', status: 'suppressed', reason: 'opted_out' }]);
    await t.call('PUT', '/api/v1/recipients/ada/preferences', { key, body: {} });
    const before = hook.requests.length;
    const missing = expectError(await send({ recipient: 'ada', category: 'security', template: 'alert', data: {} }), 422, 'TEMPLATE_VARIABLES_MISSING');
    expect(JSON.stringify(missing)).toContain('name');
    expectError(await send({ recipient: 'nobody', category: 'security', template: 'alert', data: { name: 'x' } }), 404, 'RECIPIENT_NOT_FOUND');
    await new Promise((r) => setTimeout(r, 100));
    expect(hook.requests.length).toBe(before + 0);
  });

  it('schedules inside quiet hours with the release time, and send_at in the future', async () => {
    const now = new Date();
    const hhmm = (d: Date) => d.toISOString().slice(11, 16);
    await t.call('PUT', '/api/v1/recipients/ada/preferences', {
      key,
      body: { quiet_hours: { start: hhmm(new Date(now.getTime() - 3_600_000)), end: hhmm(new Date(now.getTime() + 3_600_000)) } },
    });
    const quiet = expectData(await send({ recipient: 'ada', category: 'news', template: 'alert', data: { name: 'q' }, channels: ['webhook'] }), 202);
    expect(quiet.channels[0].status).toBe('scheduled');
    const at = Date.parse(quiet.channels[0].at);
    expect(at).toBeGreaterThan(now.getTime() + 3_500_000);
    expect(at).toBeLessThanOrEqual(now.getTime() + 3_600_000);
    await t.call('PUT', '/api/v1/recipients/ada/preferences', { key, body: {} });
    const later = new Date(Date.now() + 86_400_000).toISOString();
    const scheduled = expectData(await send({ recipient: 'ada', category: 'news', template: 'alert', data: { name: 'q' }, channels: ['webhook'], send_at: later }), 202);
    expect(scheduled.channels[0]).toMatchObject({ status: 'scheduled', at: later });
    await new Promise((r) => setTimeout(r, 150));
    expect((await channelOf(scheduled.id, 'webhook')).status).toBe('pending');
  });

  it('falls back from a permanently failing webhook (400) to the next channel of the category (console)', async () => {
    hook.replies.push({ status: 400, body: 'no' });
    const d = expectData(await send({ recipient: 'ada', category: 'security', template: 'alert', data: { name: 'fb' } }), 202);
    // The row is `failed` first; its `fallback` entry follows once the next channel is queued.
    const failed = await until('webhook failed, fallback logged', async () => {
      const c = await statusIs(d.id, 'webhook', 'failed')();
      return c?.log.some((e: any) => e.event === 'fallback') ? c : undefined;
    });
    expect(failed.last_error).toContain('400');
    const consoleDelivery = await until('console sent', statusIs(d.id, 'console', 'sent'));
    expect(consoleDelivery.log[0]).toMatchObject({ event: 'queued', detail: 'fallback from webhook' });
  });

  it('dead-letters after the last attempt, lists it under status=dead, and sends it after a retry from the API', async () => {
    const failing = (req: { path: string }) => (req.path === '/hooks/bob' ? { status: 503 } : { status: 200 });
    hook.fallback = failing;
    const add = await t.call('POST', '/api/v1/recipients/bob/contacts', { key, body: { kind: 'webhook', address: `${hook.url}/hooks/bob` } });
    expect(add.statusCode).toBe(201);
    const d = expectData(await send({ recipient: 'bob', category: 'news', template: 'alert', data: { name: 'dlq' }, channels: ['webhook'] }), 202);
    const dead = await until('dead', statusIs(d.id, 'webhook', 'dead'), 8000);
    expect(dead.attempts).toBe(3);
    expect(dead.last_error).toContain('503');
    expect(hook.requests.filter((r) => r.headers['webhook-id'] === `${d.id}.webhook`)).toHaveLength(3);
    const deadList = expectData<any[]>(await t.call('GET', '/api/v1/deliveries?status=dead', { key }));
    expect(deadList.map((x) => x.id)).toContain(`${d.id}.webhook`);
    expectError(await t.call('POST', `/api/v1/deliveries/${d.id}.nope/retry`, { key }), 404, 'DELIVERY_NOT_FOUND');
    hook.fallback = () => ({ status: 200 });
    expectData(await t.call('POST', `/api/v1/deliveries/${d.id}.webhook/retry`, { key }));
    const sent = await until('sent after retry', statusIs(d.id, 'webhook', 'sent'));
    expect(sent.log.map((e: any) => e.event)).toContain('retried by API');
    expectError(await t.call('POST', `/api/v1/deliveries/${d.id}.webhook/retry`, { key }), 409, 'DELIVERY_NOT_RETRYABLE');
    expect(expectData<any[]>(await t.call('GET', '/api/v1/deliveries?status=dead', { key })).map((x) => x.id)).not.toContain(`${d.id}.webhook`);
    const bobs = expectData<any[]>(await t.call('GET', '/api/v1/notifications?recipient=bob&status=sent', { key }));
    expect(bobs.map((n) => n.id)).toEqual([d.id]);
    expectError(await t.call('GET', '/api/v1/notifications?status=lost', { key }), 422, 'VALIDATION_ERROR');
  });

  it('batch: one answer per item, partial success is a 202 result', async () => {
    const res = await t.call('POST', '/api/v1/notifications/batch', {
      key,
      body: {
        notifications: [
          { recipient: 'ada', category: 'security', template: 'alert', data: { name: 'b0' } },
          { recipient: 'ada', category: 'security', template: 'alert', data: {} },
          { recipient: 'ghost', category: 'security', template: 'alert', data: { name: 'b2' } },
          { recipient: 'ada', category: 'security', template: 'alert', data: { name: 'b3' }, priority: 'urgent' },
          { recipient: 'ada', category: 'security', template: 'alert', data: { name: 'b4' }, priority: 'high' },
        ],
      },
    });
    const d = expectData(res, 202);
    expect([d.accepted, d.rejected]).toEqual([2, 3]);
    expect(d.items.map((i: any) => [i.index, i.status, i.error?.code])).toEqual([
      [0, 'accepted', undefined],
      [1, 'rejected', 'TEMPLATE_VARIABLES_MISSING'],
      [2, 'rejected', 'RECIPIENT_NOT_FOUND'],
      [3, 'rejected', 'VALIDATION_ERROR'],
      [4, 'accepted', undefined],
    ]);
    for (const i of [0, 4]) await until(`item ${i} sent`, statusIs(d.items[i].id, 'webhook', 'sent'));
    expectError(await t.call('POST', '/api/v1/notifications/batch', { key, body: { notifications: [] } }), 422, 'VALIDATION_ERROR');
  });

  it('batch: 1,000 notifications in one request are taken although the body is over BODY_LIMIT', async () => {
    const notifications = Array.from({ length: 1000 }, (_, i) => ({
      recipient: 'nobody-here',
      category: 'security',
      template: 'alert',
      data: { name: `batch item number ${i} with some text` },
    }));
    const body = { notifications };
    expect(JSON.stringify(body).length).toBeGreaterThan(65_536);
    const d = expectData(await t.call('POST', '/api/v1/notifications/batch', { key, body }), 202);
    expect(d.items).toHaveLength(1000);
    expect(d.rejected).toBe(1000); // unknown recipient: answered per item, nothing sent
    expect(d.items[999].error.code).toBe('RECIPIENT_NOT_FOUND');
  });

  it('frequency cap: the sends beyond the count in the window are suppressed with frequency_cap', async () => {
    await t.call('POST', '/api/v1/categories', { key, body: { name: 'digest', default_channels: ['console'], frequency_cap: { count: 2, window_seconds: 3600 } } });
    const reasons: string[] = [];
    for (let i = 0; i < 4; i++) {
      const d = expectData(await send({ recipient: 'bob', category: 'digest', template: 'alert', data: { name: `cap${i}` } }), 202);
      reasons.push(d.channels[0].status === 'suppressed' ? d.channels[0].reason : d.channels[0].status);
    }
    expect(reasons).toEqual(['queued', 'queued', 'frequency_cap', 'frequency_cap']);
  });

  it('frequency cap in a batch (items run concurrently): the first items of the recipient in batch order take the slots', async () => {
    await t.call('POST', '/api/v1/categories', { key, body: { name: 'digest2', default_channels: ['console'], frequency_cap: { count: 3, window_seconds: 3600 } } });
    const items = Array.from({ length: 40 }, (_, i) => ({ recipient: i % 2 === 0 ? 'bob' : 'ada', category: i % 4 === 3 ? 'news' : 'digest2', template: 'alert', data: { name: `b${i}` }, channels: ['console'] }));
    const res = expectData(await t.call('POST', '/api/v1/notifications/batch', { key, body: { notifications: items } }), 202);
    const statusOf = (i: number) => {
      const c = res.items[i].channels[0];
      return c.status === 'suppressed' ? c.reason : c.status;
    };
    for (const who of ['bob', 'ada']) {
      const capped = items.flatMap((it, i) => (it.recipient === who && it.category === 'digest2' ? [statusOf(i)] : []));
      expect(capped.slice(0, 3)).toEqual(['queued', 'queued', 'queued']);
      expect(new Set(capped.slice(3))).toEqual(new Set(['frequency_cap']));
    }
    expect(items.flatMap((it, i) => (it.category === 'news' ? [statusOf(i)] : [])).every((s) => s === 'queued')).toBe(true);
    expect(res.items.map((x: { index: number }) => x.index)).toEqual(items.map((_, i) => i));
  });
});

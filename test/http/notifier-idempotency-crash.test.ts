import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { DAY_MS, expectData, expectError, fakeClock } from './support.js';

/**
 * Idempotent accept across a crash, without killing anything: the states a kill -9 leaves
 * behind are written directly (an Idempotency-Key reservation still `pending`, with or without
 * the notification committed, a batch half done), then the client's retry with the same key is
 * sent. test/notifier/crash-serve.test.ts does the same with real kills of `tny serve`.
 * NOTIFY_WORKERS=0: nothing is delivered, only accept is under test.
 */
describe('notifications API: a retry after a crash at any point of accept', () => {
  let t: TestApp;
  let key: string;
  let accountId: number;
  const body = (n: number) => ({ recipient: 'ada', category: 'news', template: 'hi', data: { n } });
  const send = (b: unknown, headers: Record<string, string> = {}) => t.call('POST', '/api/v1/notifications', { key, body: b, headers });
  const batch = (items: unknown[], headers: Record<string, string> = {}) => t.call('POST', '/api/v1/notifications/batch', { key, body: { notifications: items }, headers });
  const db = () => t.container.database.db;
  const notificationsWith = async (n: number) =>
    (await db().selectFrom('notifier_notifications').select(['id', 'data']).where('account_id', '=', accountId).execute()).filter((r) => JSON.parse(r.data).n === n);
  /** What the HTTP hook stores for a request: its reservation, as a request killed mid-way leaves it. */
  const leavePending = async (route: string, k: string, b: unknown) => {
    const hash = createHash('sha256').update(`POST ${route}\n${JSON.stringify(b)}`).digest('hex');
    await db().deleteFrom('idempotency_keys').where('key', '=', k).execute();
    expect(await t.container.idempotency.begin(`account:${accountId}`, k, hash, t.clock.now(), DAY_MS)).toEqual({ state: 'new' });
  };

  beforeAll(async () => {
    t = await makeTestApp({ NOTIFY_WORKERS: '0' }, { clock: 'fake' });
    key = await t.newAccountKey('crashy');
    accountId = Number((await db().selectFrom('accounts').select('id').where('name', '=', 'crashy').executeTakeFirstOrThrow()).id);
    for (const [method, url, b] of [
      ['POST', '/api/v1/recipients', { id: 'ada', contacts: [{ kind: 'webhook', address: 'https://example.com/h' }] }],
      ['POST', '/api/v1/categories', { name: 'news', default_channels: ['webhook', 'email'] }],
      ['PUT', '/api/v1/templates/hi/webhook/en', { body: 'n={{ n }}' }],
    ] as const) {
      expect((await t.call(method, url, { key, body: b })).statusCode).toBeLessThan(300);
    }
  });
  afterAll(() => t.close());

  it('killed after the reservation, before the notification committed: the retry takes the key over and accepts once', async () => {
    await leavePending('/api/v1/notifications', 'a-1', body(1));
    const res = send(body(1), { 'idempotency-key': 'a-1' });
    const d = expectData(await res, 202);
    expect(await notificationsWith(1)).toEqual([expect.objectContaining({ id: d.id })]);
    // And the answer is now stored: the next repeat is the plain replay.
    const again = await send(body(1), { 'idempotency-key': 'a-1' });
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(expectData(again, 202)).toEqual(d);
  });

  it('killed after the notification committed, before the answer was stored: the retry gets the first answer, rebuilt from the ledger', async () => {
    const first = expectData(await send(body(2), { 'idempotency-key': 'b-1' }), 202);
    expect(first.channels).toEqual([
      { channel: 'webhook', status: 'queued', delivery_id: `${first.id}.webhook` },
      { channel: 'email', status: 'suppressed', reason: 'no_contact_point' },
    ]);
    await leavePending('/api/v1/notifications', 'b-1', body(2)); // the stored answer never happened
    const retry = await send(body(2), { 'idempotency-key': 'b-1' });
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(expectData(retry, 202)).toEqual(first);
    expect(await notificationsWith(2)).toHaveLength(1);
    // The same key with another body is still 422, from the reservation or from the notification row.
    expectError(await send(body(3), { 'idempotency-key': 'b-1' }), 422, 'IDEMPOTENCY_KEY_REUSED');
    await db().deleteFrom('idempotency_keys').where('key', '=', 'b-1').execute();
    expectError(await send(body(3), { 'idempotency-key': 'b-1' }), 422, 'IDEMPOTENCY_KEY_REUSED');
    expect(await notificationsWith(3)).toHaveLength(0);
  });

  it('a scheduled channel is replayed with its time; the body field key works the same', async () => {
    const at = new Date(t.clock.now() + 3_600_000).toISOString();
    const b = { ...body(4), send_at: at, idempotency_key: 'c-1' };
    const first = expectData(await send(b), 202);
    expect(first.channels[0]).toMatchObject({ status: 'scheduled', at });
    await leavePending('/api/v1/notifications', 'c-1', b);
    expect(expectData(await send(b), 202)).toEqual(first);
    expect(await notificationsWith(4)).toHaveLength(1);
  });

  it('a batch killed part-way: the retry with the batch key creates only the items not yet accepted, and answers all', async () => {
    const items = [body(10), body(11), body(12)];
    const first = expectData(await batch(items, { 'idempotency-key': 'batch-1' }), 202);
    expect(first.accepted).toBe(3);
    // As if the process died after item 1: item 2's notification never committed, no answer stored.
    const lost = first.items[2].id as string;
    await db().deleteFrom('notifier_deliveries').where('notification_id', '=', lost).execute();
    await db().deleteFrom('notifier_notifications').where('id', '=', lost).execute();
    await leavePending('/api/v1/notifications/batch', 'batch-1', { notifications: items });
    const retry = expectData(await batch(items, { 'idempotency-key': 'batch-1' }), 202);
    expect(retry.accepted).toBe(3);
    expect(retry.items.slice(0, 2)).toEqual(first.items.slice(0, 2));
    expect(retry.items[2].id).not.toBe(lost);
    for (const n of [10, 11, 12]) expect(await notificationsWith(n)).toHaveLength(1);
  });

  it('per-item keys in a batch: an item already accepted (alone or in another batch) is answered, not sent again', async () => {
    const single = expectData(await send(body(20), { 'idempotency-key': 'item-20' }), 202);
    const res = expectData(await batch([{ ...body(20), idempotency_key: 'item-20' }, { ...body(21), idempotency_key: 'item-21' }, { ...body(22), idempotency_key: 'item-20' }]), 202);
    expect(res.items[0]).toMatchObject({ status: 'accepted', id: single.id });
    expect(res.items[1]).toMatchObject({ status: 'accepted' });
    expect(res.items[2]).toMatchObject({ status: 'rejected', error: { code: 'IDEMPOTENCY_KEY_REUSED' } });
    const again = expectData(await batch([{ ...body(21), idempotency_key: 'item-21' }]), 202);
    expect(again.items[0].id).toBe(res.items[1].id);
    for (const n of [20, 21]) expect(await notificationsWith(n)).toHaveLength(1);
    expect(await notificationsWith(22)).toHaveLength(0);
    const bad = expectData(await batch([{ ...body(23), idempotency_key: 'has space' }]), 202);
    expect(bad.items[0]).toMatchObject({ status: 'rejected', error: { code: 'VALIDATION_ERROR' } });
  });

  it('concurrent duplicates in one process: one notification, every answer 202 with its id (the losers replayed); another body is 422', async () => {
    // The single POST keeps no reservation (ownIdempotency): the key's unique index on the
    // notification row decides, and a loser answers with the winner's notification.
    const all = await Promise.all(Array.from({ length: 8 }, () => send(body(30), { 'idempotency-key': 'race-30' })));
    const ids = new Set(all.map((r) => expectData(r, 202).id));
    expect(ids.size).toBe(1);
    expect(all.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(7);
    expect(await notificationsWith(30)).toHaveLength(1);
    const mixed = await Promise.all([31, 32, 33, 34].map((n) => send(body(n), { 'idempotency-key': 'race-31' })));
    expect(mixed.filter((r) => r.statusCode === 202)).toHaveLength(1);
    for (const r of mixed.filter((x) => x.statusCode !== 202)) expectError(r, 422, 'IDEMPOTENCY_KEY_REUSED');
  });

  it('the key replays for the TTL (24 h), then makes a new notification', async () => {
    const first = expectData(await send(body(40), { 'idempotency-key': 'ttl-1' }), 202);
    fakeClock(t).advance(DAY_MS - 1000);
    await leavePending('/api/v1/notifications', 'ttl-1', body(40));
    expect(expectData(await send(body(40), { 'idempotency-key': 'ttl-1' }), 202).id).toBe(first.id);
    fakeClock(t).advance(2000);
    await db().deleteFrom('idempotency_keys').where('key', '=', 'ttl-1').execute();
    const later = expectData(await send(body(40), { 'idempotency-key': 'ttl-1' }), 202);
    expect(later.id).not.toBe(first.id);
    expect(await notificationsWith(40)).toHaveLength(2);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { expectData, expectError, fakeClock } from './support.js';

const signal = new AbortController().signal;

describe('notifier API: in-app inbox', () => {
  let t: TestApp;
  let alice: string;
  let bob: string;
  let aliceAccount: number;
  const ids: string[] = [];
  const send = (key: string, recipientId = 'user-1', accountId = aliceAccount) =>
    t.container.inAppChannel.send({ channel: 'in_app', accountId, recipientId, title: `T ${key}`, body: `B ${key}`, data: { key } }, { idempotencyKey: key, signal });

  beforeAll(async () => {
    t = await makeTestApp({}, { clock: 'fake' });
    alice = await t.newAccountKey('alice');
    bob = await t.newAccountKey('bob');
    expectData(await t.call('POST', '/api/v1/recipients', { key: alice, body: { id: 'user-1' } }), 201);
    expectData(await t.call('POST', '/api/v1/recipients', { key: bob, body: { id: 'user-1' } }), 201);
    aliceAccount = (await t.container.auth.authenticate(alice))!.accountId;
    for (let i = 0; i < 5; i++) {
      const sent = await send(`d-${i}`);
      ids.push(sent.providerMessageId!.replace('inbox:', ''));
      fakeClock(t).advance(1000);
    }
  });
  afterAll(() => t.close());

  it('lists newest first in cursor pages, each message exactly once', async () => {
    const first = await t.call('GET', '/api/v1/recipients/user-1/inbox?limit=2', { key: alice });
    const body1 = first.json();
    expect(body1.data.map((m: any) => m.id)).toEqual([ids[4], ids[3]]);
    expect(body1.data[0]).toEqual({
      id: ids[4],
      title: 'T d-4',
      body: 'B d-4',
      data: { key: 'd-4' },
      created_at: new Date(Date.UTC(2026, 5, 1, 12) + 4000).toISOString(),
      read_at: null,
    });
    expect(body1.pagination).toEqual({ next_cursor: expect.any(String), limit: 2 });
    const second = (await t.call('GET', `/api/v1/recipients/user-1/inbox?limit=2&cursor=${body1.pagination.next_cursor}`, { key: alice })).json();
    const third = (await t.call('GET', `/api/v1/recipients/user-1/inbox?limit=2&cursor=${second.pagination.next_cursor}`, { key: alice })).json();
    expect([...second.data, ...third.data].map((m: any) => m.id)).toEqual([ids[2], ids[1], ids[0]]);
    expect(third.pagination.next_cursor).toBeNull();
  });

  it('a repeated send with the same key stores nothing new', async () => {
    const again = await send('d-2');
    expect(again.providerMessageId).toBe(`inbox:${ids[2]}`);
    expect(expectData(await t.call('GET', '/api/v1/recipients/user-1/inbox/unread-count', { key: alice }))).toEqual({ unread: 5 });
  });

  it('marks read (keeping the first time) and unread, and filters and counts unread', async () => {
    const readAt = new Date(t.clock.now()).toISOString();
    const read = expectData(await t.call('POST', `/api/v1/recipients/user-1/inbox/${ids[1]}/read`, { key: alice }));
    expect(read).toMatchObject({ id: ids[1], read_at: readAt });
    fakeClock(t).advance(1000);
    expect(expectData(await t.call('POST', `/api/v1/recipients/user-1/inbox/${ids[1]}/read`, { key: alice })).read_at).toBe(readAt);
    expectData(await t.call('POST', `/api/v1/recipients/user-1/inbox/${ids[3]}/read`, { key: alice }));
    const unread = (await t.call('GET', '/api/v1/recipients/user-1/inbox?unread=true', { key: alice })).json();
    expect(unread.data.map((m: any) => m.id)).toEqual([ids[4], ids[2], ids[0]]);
    expect(expectData(await t.call('GET', '/api/v1/recipients/user-1/inbox/unread-count', { key: alice }))).toEqual({ unread: 3 });
    expect(expectData(await t.call('POST', `/api/v1/recipients/user-1/inbox/${ids[3]}/unread`, { key: alice })).read_at).toBeNull();
    expect(expectData(await t.call('GET', '/api/v1/recipients/user-1/inbox/unread-count', { key: alice }))).toEqual({ unread: 4 });
  });

  it("hides another account's recipient and messages as 404", async () => {
    // bob has a recipient with the same id, but alice's messages are not his.
    expect(expectData<unknown[]>(await t.call('GET', '/api/v1/recipients/user-1/inbox', { key: bob }))).toEqual([]);
    expectError(await t.call('POST', `/api/v1/recipients/user-1/inbox/${ids[0]}/read`, { key: bob }), 404, 'NOT_FOUND');
    expectError(await t.call('POST', `/api/v1/recipients/user-1/inbox/${ids[0]}/unread`, { key: bob }), 404, 'NOT_FOUND');
    for (const [method, url] of [
      ['GET', '/api/v1/recipients/nobody/inbox'],
      ['GET', '/api/v1/recipients/nobody/inbox/unread-count'],
      ['GET', '/api/v1/recipients/nobody/inbox/stream'],
      ['POST', `/api/v1/recipients/nobody/inbox/${ids[0]}/read`],
      ['POST', `/api/v1/recipients/nobody/inbox/${ids[0]}/unread`],
    ] as const) {
      expectError(await t.call(method, url, { key: bob }), 404, 'RECIPIENT_NOT_FOUND');
    }
    expect((await t.call('GET', '/api/v1/recipients/user-1/inbox/unread-count', { key: alice })).json().data.unread).toBe(4);
  });

  it('answers bad input with the exact status and code', async () => {
    const otherCursor = (await t.call('GET', '/api/v1/recipients/user-1/inbox?unread=true&limit=1', { key: alice })).json().pagination.next_cursor;
    const table: [string, string, string | undefined, number, string][] = [
      ['GET', '/api/v1/recipients/user-1/inbox', undefined, 401, 'UNAUTHORIZED'],
      ['GET', '/api/v1/recipients/user-1/inbox/stream', undefined, 401, 'UNAUTHORIZED'],
      ['GET', '/api/v1/recipients/user-1/inbox?limit=0', alice, 422, 'VALIDATION_ERROR'],
      ['GET', '/api/v1/recipients/user-1/inbox?limit=101', alice, 422, 'VALIDATION_ERROR'],
      ['GET', '/api/v1/recipients/user-1/inbox?unread=maybe', alice, 422, 'VALIDATION_ERROR'],
      ['GET', '/api/v1/recipients/user-1/inbox?cursor=***', alice, 400, 'INVALID_CURSOR'],
      ['GET', `/api/v1/recipients/user-1/inbox?cursor=${otherCursor}`, alice, 400, 'INVALID_CURSOR'],
      ['GET', '/api/v1/recipients/user-1/inbox?colour=red', alice, 422, 'VALIDATION_ERROR'],
      ['POST', '/api/v1/recipients/user-1/inbox/abc/read', alice, 422, 'VALIDATION_ERROR'],
      ['POST', '/api/v1/recipients/user-1/inbox/0/read', alice, 422, 'VALIDATION_ERROR'],
      ['POST', '/api/v1/recipients/user-1/inbox/999999/read', alice, 404, 'NOT_FOUND'],
    ];
    for (const [method, url, key, status, code] of table) {
      expectError(await t.call(method, url, { key }), status, code);
    }
    const res = await t.call('GET', '/api/v1/recipients/user-1/inbox/stream', { key: alice, headers: { 'last-event-id': 'abc' } });
    expectError(res, 400, 'BAD_REQUEST');
  });
});

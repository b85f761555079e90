import { afterAll, beforeAll, expect, it } from 'vitest';
import type { NewInboxMessage } from '../../src/notifier/inbox/inbox.js';
import { describeEachNotifierStore, type NotifierStore } from '../helpers/notifier-stores.js';

/** One storage per engine (and a shard set); each test works in its own accounts, so tests cannot see each other. */
describeEachNotifierStore('in-app inbox contract', (factory) => {
  let store: NotifierStore;
  let nextAccount = 1;
  beforeAll(async () => {
    store = await factory.open();
  });
  afterAll(() => store.close());

  const recipients = () => store.stores.recipients;
  const newRecipient = async (accountId: number, id: string) => {
    expect(await recipients().insert({ accountId, id, locale: 'en', timeZone: 'UTC', now: 1 })).not.toBe('conflict');
  };
  const msg = (accountId: number, recipientId: string, key: string, now = 1000): NewInboxMessage => ({
    accountId,
    recipientId,
    idempotencyKey: key,
    title: `title ${key}`,
    body: `body ${key}`,
    data: { key, n: 1 },
    now,
  });

  it('stores a message once per (account, idempotency key) and returns the same row on repeat', async () => {
    const inbox = store.inbox;
    const a = nextAccount++;
    const b = nextAccount++;
    await newRecipient(a, 'u');
    await newRecipient(b, 'u');
    const first = await inbox.insert(msg(a, 'u', 'k1'));
    expect(first?.created).toBe(true);
    expect(first?.message).toMatchObject({ accountId: a, recipientId: 'u', title: 'title k1', body: 'body k1', data: { key: 'k1', n: 1 }, createdAt: 1000, readAt: null });
    const again = await inbox.insert({ ...msg(a, 'u', 'k1', 2000), title: 'changed' });
    expect(again).toEqual({ message: first!.message, created: false });
    const otherAccount = await inbox.insert(msg(b, 'u', 'k1'));
    expect(otherAccount?.created).toBe(true);
    expect(otherAccount?.message.id).not.toBe(first?.message.id);
    expect(await inbox.unreadCount(a, 'u')).toBe(1);
  });

  it('lets exactly one of many concurrent sends of one key store a row; all answer its id', async () => {
    const a = nextAccount++;
    await newRecipient(a, 'race');
    const other = (await store.connectAgain()).inbox;
    const mine = store.inbox;
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? other : mine).insert(msg(a, 'race', 'same', i))));
    expect(results.filter((r) => r?.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r?.message.id)).size).toBe(1);
    expect(await mine.unreadCount(a, 'race')).toBe(1);
  });

  it('refuses a message for a recipient that does not exist', async () => {
    const inbox = store.inbox;
    const a = nextAccount++;
    expect(await inbox.insert(msg(a, 'ghost', 'k'))).toBeUndefined();
  });

  it('pages newest first, filters unread, replays oldest first after an id', async () => {
    const inbox = store.inbox;
    const a = nextAccount++;
    await newRecipient(a, 'u');
    await newRecipient(a, 'v');
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push((await inbox.insert(msg(a, 'u', `k${i}`, 1000 + i)))!.message.id);
    await inbox.insert(msg(a, 'v', 'elsewhere'));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));

    const page1 = await inbox.list(a, 'u', { before: null, limit: 2, unreadOnly: false });
    expect(page1.map((m) => m.id)).toEqual([ids[4], ids[3]]);
    const page2 = await inbox.list(a, 'u', { before: ids[3]!, limit: 10, unreadOnly: false });
    expect(page2.map((m) => m.id)).toEqual([ids[2], ids[1], ids[0]]);

    await inbox.setRead(a, 'u', ids[3]!, 5000);
    await inbox.setRead(a, 'u', ids[1]!, 5000);
    const unread = await inbox.list(a, 'u', { before: null, limit: 10, unreadOnly: true });
    expect(unread.map((m) => m.id)).toEqual([ids[4], ids[2], ids[0]]);
    expect(await inbox.unreadCount(a, 'u')).toBe(3);

    expect((await inbox.since(a, 'u', ids[1]!, 10)).map((m) => m.id)).toEqual([ids[2], ids[3], ids[4]]);
    expect((await inbox.since(a, 'u', ids[1]!, 2)).map((m) => m.id)).toEqual([ids[2], ids[3]]);
    expect(await inbox.since(a, 'u', ids[4]!, 10)).toEqual([]);
  });

  it('keeps the first read time, marks unread, and only touches the recipient’s own message', async () => {
    const inbox = store.inbox;
    const a = nextAccount++;
    const b = nextAccount++;
    await newRecipient(a, 'u');
    await newRecipient(a, 'v');
    const id = (await inbox.insert(msg(a, 'u', 'k')))!.message.id;
    expect((await inbox.setRead(a, 'u', id, 5000))?.readAt).toBe(5000);
    expect((await inbox.setRead(a, 'u', id, 9000))?.readAt).toBe(5000);
    expect(await inbox.setRead(a, 'v', id, 9000)).toBeUndefined();
    expect(await inbox.setRead(b, 'u', id, 9000)).toBeUndefined();
    expect(await inbox.setRead(a, 'u', id + 1000, 9000)).toBeUndefined();
    expect((await inbox.setRead(a, 'u', id, null))?.readAt).toBeNull();
    expect(await inbox.unreadCount(a, 'u')).toBe(1);
  });

  it('goes with its recipient when the recipient is deleted', async () => {
    const inbox = store.inbox;
    const a = nextAccount++;
    await newRecipient(a, 'u');
    await inbox.insert(msg(a, 'u', 'k'));
    expect(await recipients().delete(a, 'u')).toBe(true);
    await newRecipient(a, 'u');
    expect(await inbox.list(a, 'u', { before: null, limit: 10, unreadOnly: false })).toEqual([]);
  });
});

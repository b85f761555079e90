import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_PREFERENCES, type Preferences } from '../../src/notifier/preferences.js';
import { describeEachNotifierStore, type NotifierStore } from '../helpers/notifier-stores.js';

/** One storage per engine (and a shard set) for the suite; each test works in its own account, so tests cannot see each other. */
describeEachNotifierStore('notifier recipients, contact points and preferences contract', (factory) => {
  let store: NotifierStore;
  let nextAccount = 1;
  beforeAll(async () => {
    store = await factory.open();
  });
  afterAll(() => store.close());
  const stores = () => store.stores;
  const recipient = (accountId: number, id: string, now = 1000) => ({ accountId, id, locale: 'de-AT', timeZone: 'Europe/Vienna', now });

  it('inserts, finds, updates and refuses a taken id per account only', async () => {
    const { recipients } = stores();
    const a = nextAccount++;
    const b = nextAccount++;
    const created = await recipients.insert(recipient(a, 'user-1'));
    expect(created).toEqual({ accountId: a, id: 'user-1', locale: 'de-AT', timeZone: 'Europe/Vienna', createdAt: 1000, updatedAt: 1000 });
    expect(await recipients.insert(recipient(a, 'user-1', 2000))).toBe('conflict');
    expect(await recipients.insert(recipient(b, 'user-1', 3000))).toMatchObject({ accountId: b, createdAt: 3000 });
    expect(await recipients.find(a, 'user-1')).toEqual(created);
    expect(await recipients.find(a, 'nobody')).toBeUndefined();
    const updated = await recipients.update(a, 'user-1', { timeZone: 'Asia/Tokyo', updatedAt: 5000 });
    expect(updated).toEqual({ ...(created as object), timeZone: 'Asia/Tokyo', updatedAt: 5000 });
    expect((await recipients.find(b, 'user-1'))?.timeZone).toBe('Europe/Vienna');
    expect(await recipients.update(a, 'nobody', { locale: 'en', updatedAt: 1 })).toBeUndefined();
  });

  it('lets exactly one of many concurrent inserts of one id win', async () => {
    const a = nextAccount++;
    const other = (await store.connectAgain()).stores.recipients;
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? other : stores().recipients).insert(recipient(a, 'race', i))));
    expect(results.filter((r) => r !== 'conflict')).toHaveLength(1);
  });

  it('pages through recipients in byte order, each exactly once', async () => {
    const { recipients } = stores();
    const a = nextAccount++;
    const ids = ['b', 'a', 'B', 'a.1', 'Z', 'user:9', '_x', '0'];
    for (const id of ids) await recipients.insert(recipient(a, id));
    await recipients.insert(recipient(nextAccount++, 'other-account'));
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await recipients.list(a, after, 3);
      seen.push(...page.map((r) => r.id));
      if (page.length < 3) break;
      after = page[page.length - 1]!.id;
    }
    expect(seen).toEqual([...ids].sort());
  });

  it('adds contact points, refuses duplicates and unknown recipients, and marks them invalid', async () => {
    const { recipients, contacts } = stores();
    const a = nextAccount++;
    await recipients.insert(recipient(a, 'u'));
    const email = await contacts.add({ accountId: a, recipientId: 'u', kind: 'email', address: 'u@example.com', keys: null, now: 10 });
    const push = await contacts.add({
      accountId: a,
      recipientId: 'u',
      kind: 'web_push',
      address: 'https://push.example.com/abc',
      keys: { p256dh: 'p'.repeat(20), auth: 'a'.repeat(16) },
      now: 11,
    });
    expect(email).toMatchObject({ kind: 'email', address: 'u@example.com', keys: null, valid: true, recipientId: 'u', accountId: a });
    expect(push).toMatchObject({ kind: 'web_push', keys: { p256dh: 'p'.repeat(20), auth: 'a'.repeat(16) } });
    expect(await contacts.add({ accountId: a, recipientId: 'u', kind: 'email', address: 'u@example.com', keys: null, now: 12 })).toBe('conflict');
    expect(await contacts.add({ accountId: a, recipientId: 'ghost', kind: 'email', address: 'g@example.com', keys: null, now: 12 })).toBeUndefined();
    expect(await contacts.add({ accountId: nextAccount++, recipientId: 'u', kind: 'email', address: 'x@example.com', keys: null, now: 12 })).toBeUndefined();
    if (email === 'conflict' || email === undefined || push === 'conflict' || push === undefined) throw new Error('not added');

    await contacts.markInvalid(a, 'other', email.id, 19); // addressed to another recipient: no change
    expect((await contacts.list(a, 'u')).find((c) => c.id === email.id)?.valid).toBe(true);
    await contacts.markInvalid(a, 'u', email.id, 20);
    expect((await contacts.list(a, 'u')).map((c) => [c.kind, c.valid])).toEqual([
      ['email', false],
      ['web_push', true],
    ]);
    expect(await contacts.setValid(a, 'u', email.id, true, 30)).toMatchObject({ valid: true, updatedAt: 30 });
    expect(await contacts.setValid(a, 'other', email.id, true, 30)).toBeUndefined();
    expect(await contacts.delete(a + 1000, 'u', push.id)).toBe(false);
    expect(await contacts.delete(a, 'u', push.id)).toBe(true);
    expect((await contacts.list(a, 'u')).map((c) => c.id)).toEqual([email.id]);
  });

  it('inserts a recipient with its contact points in one transaction, or nothing on conflict', async () => {
    const { recipients, contacts } = stores();
    const a = nextAccount++;
    const first = await recipients.insertWithContacts(recipient(a, 'w'), [
      { kind: 'email', address: 'w@example.com', keys: null },
      { kind: 'web_push', address: 'https://push.example.com/w', keys: { p256dh: 'p'.repeat(20), auth: 'a'.repeat(16) } },
    ]);
    if (first === 'conflict') throw new Error('conflict');
    expect(first.recipient.id).toBe('w');
    expect(first.contacts.map((c) => [c.kind, c.valid, c.recipientId])).toEqual([
      ['email', true, 'w'],
      ['web_push', true, 'w'],
    ]);
    expect(await contacts.list(a, 'w')).toEqual(first.contacts);
    expect(await recipients.insertWithContacts(recipient(a, 'w', 9), [{ kind: 'phone', address: '+4915112345678', keys: null }])).toBe('conflict');
    expect((await contacts.list(a, 'w')).map((c) => c.kind)).toEqual(['email', 'web_push']);
  });

  it('lists contact points of many recipients at once', async () => {
    const { recipients, contacts } = stores();
    const a = nextAccount++;
    for (const id of ['r1', 'r2', 'r3']) await recipients.insert(recipient(a, id));
    await contacts.add({ accountId: a, recipientId: 'r1', kind: 'phone', address: '+4915112345678', keys: null, now: 1 });
    await contacts.add({ accountId: a, recipientId: 'r3', kind: 'fcm', address: 'token-token-token-1', keys: null, now: 1 });
    await contacts.add({ accountId: a, recipientId: 'r3', kind: 'apns', address: 'token-token-token-2', keys: null, now: 1 });
    const many = await contacts.listMany(a, ['r1', 'r2', 'r3', 'r1']);
    expect([...many.keys()].sort()).toEqual(['r1', 'r3']);
    expect(many.get('r3')!.map((c) => c.kind)).toEqual(['fcm', 'apns']);
  });

  it('stores preferences whole, only for existing recipients, and deletes them with the recipient', async () => {
    const { recipients, contacts, preferences } = stores();
    const a = nextAccount++;
    await recipients.insert(recipient(a, 'p'));
    await contacts.add({ accountId: a, recipientId: 'p', kind: 'email', address: 'p@example.com', keys: null, now: 1 });
    expect(await preferences.get(a, 'p')).toBeUndefined();
    const prefs: Preferences = {
      optOut: false,
      categories: { marketing: { enabled: false, channels: {} }, social: { enabled: true, channels: { email: false, sms: true } } },
      quietHours: { start: '22:00', end: '07:00' },
    };
    expect(await preferences.put(a, 'p', prefs, 5)).toBe(true);
    expect(await preferences.get(a, 'p')).toEqual(prefs);
    expect(await preferences.put(a, 'p', DEFAULT_PREFERENCES, 6)).toBe(true);
    expect(await preferences.get(a, 'p')).toEqual(DEFAULT_PREFERENCES);
    expect(await preferences.put(a, 'ghost', prefs, 7)).toBe(false);
    expect(await preferences.get(a, 'ghost')).toBeUndefined();

    expect(await recipients.delete(a, 'p')).toBe(true);
    expect(await recipients.delete(a, 'p')).toBe(false);
    expect(await preferences.get(a, 'p')).toBeUndefined();
    expect(await contacts.list(a, 'p')).toEqual([]);
    // A new recipient with the same id starts clean.
    await recipients.insert(recipient(a, 'p'));
    expect(await preferences.get(a, 'p')).toBeUndefined();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recipientShard } from '../../src/adapters/sharding/notifier-routing.js';
import { ID_STRIDE } from '../../src/adapters/sharding/shard-ids.js';
import { newNotificationId, recipientRoute, routeOfNotificationId } from '../../src/notifier/notifications/ids.js';
import type { DeliveryStatus, NewDelivery, Notification } from '../../src/notifier/notifications/ledger.js';
import { listDeliveries, listNotifications } from '../../src/notifier/notifications/queries.js';
import type { PipelineContext } from '../../src/notifier/notifications/send.js';
import { listRecipients } from '../../src/notifier/use-cases/recipients.js';
import type { Actor } from '../../src/platform/auth/actor.js';
import { describeSharded, postgresFactory, type TestDatabase, type TestShards } from '../helpers/databases.js';
import { onShards, testNotificationId, type NotifierPorts } from '../helpers/notifier-stores.js';
import { KyselyDeliveryLedger } from '../../src/adapters/sql/kysely-delivery-ledger.js';
import { KyselyInbox } from '../../src/adapters/sql/kysely-inbox.js';
import { kyselyNotifierStores } from '../../src/adapters/sql/kysely-notifier-stores.js';
import { seededRandom } from '../../bench/lib/keys.js';

/** Deterministic PRNG (mulberry32, shared with the benchmarks), so a failure can be replayed. */
const prng = seededRandom;

const T0 = 1_790_000_000_000;
const ACCOUNT = 1;
const OTHER_ACCOUNT = 2;

interface Recipient {
  accountId: number;
  id: string;
}

/** 50 recipients of ACCOUNT (mixed case, punctuation) and 10 of OTHER_ACCOUNT with some of the same ids. */
function recipientsOf(): Recipient[] {
  const mine = Array.from({ length: 50 }, (_, i) => ({ accountId: ACCOUNT, id: i % 7 === 0 ? `User-${i}` : i % 5 === 0 ? `u.${i}` : `user-${i}` }));
  const theirs = Array.from({ length: 10 }, (_, i) => ({ accountId: OTHER_ACCOUNT, id: `user-${i}` }));
  return [...mine, ...theirs];
}

interface Item {
  notification: Notification;
  deliveries: NewDelivery[];
  /** What happens to each delivery after the create. */
  fate: 'pending' | 'sent' | 'dead' | 'sending';
}

/**
 * 300 notifications over the 60 recipients, 4 per millisecond (ids with one time part order by
 * the route, then the random part), a webhook delivery each and an email one for every third,
 * some suppressed; ids minted as send.ts mints them.
 */
function notificationsOf(recipients: readonly Recipient[]): Item[] {
  const random = prng(8);
  return Array.from({ length: 300 }, (_, k) => {
    const r = recipients[Math.floor(random() * recipients.length)]!;
    const createdAt = T0 + Math.floor(k / 4);
    const id = newNotificationId(createdAt, recipientRoute(r.accountId, r.id));
    const channels = k % 3 === 0 ? (['webhook', 'email'] as const) : (['webhook'] as const);
    const suppressed = k % 11 === 0;
    const notification: Notification = {
      id,
      accountId: r.accountId,
      recipientId: r.id,
      category: 'c',
      template: 't',
      data: { k },
      priority: 'normal',
      sendAt: null,
      createdAt,
      channels: [...channels],
    };
    const deliveries: NewDelivery[] = channels.map((channel) => ({
      id: `${id}.${channel}`,
      notificationId: id,
      accountId: r.accountId,
      channel,
      status: suppressed ? 'suppressed' : 'pending',
      reason: suppressed ? 'opted_out' : null,
      contactId: null,
      message: null,
      runAt: createdAt,
      log: [{ at: createdAt, event: suppressed ? 'suppressed' : 'queued' }],
      createdAt,
    }));
    const fates = ['pending', 'sent', 'dead', 'sending', 'sent'] as const;
    return { notification, deliveries, fate: suppressed ? 'pending' : fates[k % fates.length]! };
  });
}

/** The same data written through `ports`: recipients with a contact point, preferences for some, an inbox message each; notifications and their fates. */
async function load(ports: NotifierPorts, recipients: readonly Recipient[], items: readonly Item[]): Promise<void> {
  for (const [i, r] of recipients.entries()) {
    const created = await ports.stores.recipients.insertWithContacts({ ...r, locale: 'en', timeZone: 'UTC', now: T0 }, [
      { kind: 'email', address: `${r.id}@example.com`, keys: null },
    ]);
    expect(created).not.toBe('conflict');
    if (i % 2 === 0) await ports.stores.preferences.put(r.accountId, r.id, { optOut: false, categories: {}, quietHours: null }, T0);
    expect(await ports.inbox.insert({ accountId: r.accountId, recipientId: r.id, idempotencyKey: `welcome-${r.id}`, title: 'hi', body: 'hello', data: null, now: T0 })).toBeDefined();
  }
  // Concurrently, as a batch send's items are: each goes to its own shard.
  await Promise.all(items.map((item) => ports.ledger.create(item.notification, item.deliveries).then((r) => expect(r).toBe('created'))));
  for (const item of items) {
    for (const d of item.deliveries) {
      if (d.status === 'suppressed' || item.fate === 'pending') continue;
      expect((await ports.ledger.claim(d.id, 'tok', T0 + 10_000, 30_000)).kind).toBe('claimed');
      if (item.fate === 'sent') await ports.ledger.markSent(d.id, 'tok', null, T0 + 10_001);
      if (item.fate === 'dead') await ports.ledger.release(d.id, 'tok', 'dead', 'gone', T0 + 10_001);
    }
  }
}

const actor = (accountId: number): Actor => ({ accountId, isAdmin: false, keyId: 'test' });

/** The use cases read only these; the rest of a pipeline (queue, templates) is not used by lists. */
function contextOf(ports: NotifierPorts): PipelineContext {
  return { stores: ports.stores, ledger: ports.ledger } as unknown as PipelineContext;
}

interface PageView {
  ids: string[];
  next: string | null;
}

/** Every page of a use-case list, following its cursors. */
async function allPages(list: (cursor: string | undefined) => Promise<{ items: { id: string }[]; nextCursor: string | null }>): Promise<PageView[]> {
  const out: PageView[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 500; i++) {
    const page = await list(cursor);
    out.push({ ids: page.items.map((x) => x.id), next: page.nextCursor });
    if (page.nextCursor === null) return out;
    cursor = page.nextCursor;
  }
  throw new Error('more than 500 pages');
}

describeSharded('notifier data on shards', (openShards) => {
  const recipients = recipientsOf();
  const items = notificationsOf(recipients);
  let shards: TestShards;
  let single: TestDatabase;
  let sharded: NotifierPorts;
  let one: NotifierPorts;

  beforeAll(async () => {
    shards = await openShards();
    single = await postgresFactory(process.env.DATABASE_URL_TEST!).open();
    sharded = onShards(shards.set);
    one = { stores: kyselyNotifierStores(single), ledger: new KyselyDeliveryLedger(single.db, 'postgres'), inbox: new KyselyInbox(single.db) };
    await Promise.all([load(sharded, recipients, items), load(one, recipients, items)]);
  }, 60_000);
  afterAll(async () => {
    await shards?.close();
    await single?.close();
  });

  it("puts each recipient's rows on exactly its ring owner, and uses every shard", async () => {
    const tables = ['notifier_recipients', 'notifier_contact_points', 'notifier_preferences', 'notifier_inbox', 'notifier_notifications', 'notifier_deliveries'] as const;
    const counts = await Promise.all(
      shards.shards.map(async (s) => {
        const [rec = 0, con = 0, pref = 0, inbox = 0, ntf = 0, del = 0] = await Promise.all(
          tables.map(async (t) => Number((await s.db.selectFrom(t).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n)),
        );
        return { rec, con, pref, inbox, ntf, del };
      }),
    );
    // Every shard holds some of everything, and together exactly the data (nothing twice).
    for (const c of counts) expect(Math.min(c.rec, c.ntf, c.del)).toBeGreaterThan(0);
    const sum = (k: keyof (typeof counts)[number]) => counts.reduce((n, c) => n + c[k], 0);
    expect([sum('rec'), sum('con'), sum('pref'), sum('inbox'), sum('ntf'), sum('del')]).toEqual([60, 60, 30, 60, 300, items.reduce((n, i) => n + i.deliveries.length, 0)]);

    for (const r of recipients) {
      const owner = recipientShard(shards.set, r.accountId, r.id).index;
      const mine = items.filter((i) => i.notification.accountId === r.accountId && i.notification.recipientId === r.id).map((i) => i.notification.id).sort();
      for (const [index, s] of shards.shards.entries()) {
        const rec = await s.db.selectFrom('notifier_recipients').select('id').where('account_id', '=', r.accountId).where('id', '=', r.id).execute();
        const con = await s.db.selectFrom('notifier_contact_points').select('id').where('account_id', '=', r.accountId).where('recipient_id', '=', r.id).execute();
        const inbox = await s.db.selectFrom('notifier_inbox').select('id').where('account_id', '=', r.accountId).where('recipient_id', '=', r.id).execute();
        const ntf = await s.db.selectFrom('notifier_notifications').select('id').where('account_id', '=', r.accountId).where('recipient_id', '=', r.id).orderBy('id').execute();
        const del = await s.db
          .selectFrom('notifier_deliveries as d')
          .innerJoin('notifier_notifications as n', 'n.id', 'd.notification_id')
          .select('d.id')
          .where('n.account_id', '=', r.accountId)
          .where('n.recipient_id', '=', r.id)
          .execute();
        const here = index === owner;
        expect([rec.length, con.length, inbox.length], `${r.accountId}:${r.id} on s${index}`).toEqual(here ? [1, 1, 1] : [0, 0, 0]);
        expect(ntf.map((n) => n.id)).toEqual(here ? mine : []);
        if (!here) expect(del).toEqual([]);
      }
      // The ids say where they live without a lookup.
      for (const id of mine) expect(shards.set.shardForHash(routeOfNotificationId(id)!).index).toBe(owner);
    }
  });

  it('pages notifications across shards exactly as one database does: same pages, same cursors', async () => {
    for (const limit of [1, 7, 100]) {
      for (const filter of [{}, { status: 'dead' }, { status: 'sending' }, { recipient: recipients[3]!.id }] as { status?: string; recipient?: string }[]) {
        const of = (ports: NotifierPorts) => allPages((cursor) => listNotifications(contextOf(ports), actor(ACCOUNT), { ...filter, limit, ...(cursor ? { cursor } : {}) }));
        const [got, want] = await Promise.all([of(sharded), of(one)]);
        expect(got, `limit ${limit} ${JSON.stringify(filter)}`).toEqual(want);
        const ids = want.flatMap((p) => p.ids);
        expect(new Set(ids).size).toBe(ids.length);
        if (Object.keys(filter).length === 0) expect(ids.length).toBe(items.filter((i) => i.notification.accountId === ACCOUNT).length);
      }
    }
  });

  it('pages deliveries by status (dead letters…) and unfinished rows across shards as one database does', async () => {
    for (const limit of [1, 9, 50]) {
      for (const status of ['dead', 'sent', 'pending', 'suppressed'] as DeliveryStatus[]) {
        const of = (ports: NotifierPorts) => allPages((cursor) => listDeliveries(contextOf(ports), actor(ACCOUNT), { status, limit, ...(cursor ? { cursor } : {}) }));
        const [got, want] = await Promise.all([of(sharded), of(one)]);
        expect(got, `limit ${limit} ${status}`).toEqual(want);
        expect(want.flatMap((p) => p.ids).length).toBeGreaterThan(0);
      }
      // listUnfinished (the re-queue at worker start) pages by the last id, over every account.
      const unfinished = async (ports: NotifierPorts) => {
        const seen: string[][] = [];
        let after: string | null = null;
        for (;;) {
          const rows = await ports.ledger.listUnfinished(after, limit);
          seen.push(rows.map((r) => r.id));
          if (rows.length < limit) return seen;
          after = rows.at(-1)!.id;
        }
      };
      const [got, want] = await Promise.all([unfinished(sharded), unfinished(one)]);
      expect(got).toEqual(want);
      expect(new Set(want.flat()).size).toBe(want.flat().length);
    }
  });

  it('pages recipients across shards as one database does (byte order of the id)', async () => {
    for (const limit of [1, 6, 100]) {
      for (const account of [ACCOUNT, OTHER_ACCOUNT]) {
        const of = (ports: NotifierPorts) => allPages((cursor) => listRecipients(contextOf(ports), actor(account), { limit, ...(cursor ? { cursor } : {}) }));
        const [got, want] = await Promise.all([of(sharded), of(one)]);
        expect(got).toEqual(want);
        expect(want.flatMap((p) => p.ids)).toEqual(recipients.filter((r) => r.accountId === account).map((r) => r.id).sort());
      }
    }
  });

  it('contact point and inbox ids are unique across shards: each shard hands out its own residue class', async () => {
    for (const [index, s] of shards.shards.entries()) {
      for (const table of ['notifier_contact_points', 'notifier_inbox'] as const) {
        const ids = (await s.db.selectFrom(table).select('id').execute()).map((r) => Number(r.id));
        expect(ids.length).toBeGreaterThan(0);
        for (const id of ids) expect(id % ID_STRIDE, `${table} ${id} on s${index}`).toBe((index + 1) % ID_STRIDE);
      }
    }
  });

  it('finds an idempotency key held on any shard; the cap counts one recipient on its shard; refuses an id minted for another recipient', async () => {
    const [a, b] = [recipients[0]!, recipients.find((r) => r.accountId === ACCOUNT && recipientShard(shards.set, r.accountId, r.id) !== recipientShard(shards.set, ACCOUNT, recipients[0]!.id))!];
    const now = T0 + 50_000;
    const id = newNotificationId(now, recipientRoute(a.accountId, a.id));
    const n: Notification = {
      id,
      accountId: ACCOUNT,
      recipientId: a.id,
      category: 'capped',
      template: 't',
      data: {},
      priority: 'high',
      sendAt: null,
      createdAt: now,
      idempotency: { key: 'order-1', requestHash: 'h', expiresAt: now + 1000 },
    };
    const d: NewDelivery = { id: `${id}.webhook`, notificationId: id, accountId: ACCOUNT, channel: 'webhook', status: 'pending', reason: null, contactId: null, message: null, runAt: now, log: [], createdAt: now };
    expect(await sharded.ledger.create(n, [d], { count: 1, since: 0 })).toBe('created');
    // Asked by any process, whatever the request's recipient: the key is found on a's shard.
    expect((await sharded.ledger.findByIdempotencyKey(ACCOUNT, 'order-1', now))?.notification.id).toBe(id);
    expect(await sharded.ledger.countSince(ACCOUNT, a.id, 'capped', 0)).toBe(1);
    expect(await sharded.ledger.countSince(ACCOUNT, b.id, 'capped', 0)).toBe(0);
    const second = newNotificationId(now + 1, recipientRoute(ACCOUNT, a.id));
    expect(await sharded.ledger.create({ ...n, id: second, idempotency: undefined }, [{ ...d, id: `${second}.webhook`, notificationId: second }], { count: 1, since: 0 })).toBe('capped');
    expect((await sharded.ledger.priorities([id, second, 'ntf_legacy00000000000000000'])).get(id)).toBe('high');

    // An id carrying b's position for a's notification would put it where a's cap and list cannot see it.
    const wrong = testNotificationId(ACCOUNT, b.id, 99_999);
    await expect(sharded.ledger.create({ ...n, id: wrong, idempotency: undefined }, [{ ...d, id: `${wrong}.webhook`, notificationId: wrong }])).rejects.toThrow(/ring position/);
    await expect(sharded.ledger.create({ ...n, id: 'ntf_test000001', idempotency: undefined }, [])).rejects.toThrow(/ring position/);
  });
});

describe('notification ids', () => {
  it('carry the ring position after the time part, sort by time, and legacy ids carry none', () => {
    const route = recipientRoute(7, 'ada');
    const early = newNotificationId(1000, route);
    const late = newNotificationId(1001, recipientRoute(7, 'zed'));
    expect(early).toMatch(/^ntf_[0-9a-z]{9}[0-9a-v]{7}[a-z2-7]{10}$/);
    expect(early < late).toBe(true);
    expect(routeOfNotificationId(early)).toBe(route);
    expect(routeOfNotificationId(`${early}.web_push`)).toBe(route);
    expect(routeOfNotificationId(newNotificationId(1000, 0xffffffff))).toBe(0xffffffff);
    expect(routeOfNotificationId(newNotificationId(1000, 0))).toBe(0);
    // Minted before routing existed: `ntf_` + 9 time + 12 random (25 characters).
    expect(routeOfNotificationId('ntf_00000000rabcdefghijkl')).toBeUndefined();
    expect(routeOfNotificationId('ntf_00000000rabcdefghijkl.email')).toBeUndefined();
    expect(routeOfNotificationId('nonsense')).toBeUndefined();
  });
});

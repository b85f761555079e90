import { afterEach, beforeEach, expect, it } from 'vitest';
import { moveRecipientBatch, readRecipientRows, recipientChecksum, recipientsOwnedBy, type RecipientRef, type RecipientRows } from '../../src/adapters/sharding/move-recipients.js';
import { ringOf } from '../../src/adapters/sharding/reshard-plan.js';
import type { Shard, ShardSet } from '../../src/adapters/sharding/shard-set.js';
import type { Topology } from '../../src/adapters/sharding/topology.js';
import { KyselyDeliveryLedger } from '../../src/adapters/sql/kysely-delivery-ledger.js';
import { KyselyInbox } from '../../src/adapters/sql/kysely-inbox.js';
import { kyselyNotifierStores } from '../../src/adapters/sql/kysely-notifier-stores.js';
import { newNotificationId, recipientRoute } from '../../src/notifier/notifications/ids.js';
import type { NewDelivery, Notification } from '../../src/notifier/notifications/ledger.js';
import { describeWithPostgres, reshardFixture, type ReshardFixture } from './reshard-helpers.js';

const T0 = 1_790_000_000_000;
const ring2 = ringOf(2);

/** The notifier's Kysely ports on one shard. */
function portsOn(shard: Shard) {
  return { stores: kyselyNotifierStores(shard.database), ledger: new KyselyDeliveryLedger(shard.database.db, 'postgres'), inbox: new KyselyInbox(shard.database.db) };
}

function notification(r: RecipientRef, k: number, id = newNotificationId(T0 + k, recipientRoute(r.accountId, r.id))): { n: Notification; d: NewDelivery[] } {
  const n: Notification = { id, accountId: r.accountId, recipientId: r.id, category: 'c', template: 't', data: { k }, priority: 'normal', sendAt: null, createdAt: T0 + k, channels: ['webhook', 'email'] };
  const d = (['webhook', 'email'] as const).map((channel) => ({
    id: `${id}.${channel}`,
    notificationId: id,
    accountId: r.accountId,
    channel,
    status: 'pending' as const,
    reason: null,
    contactId: null,
    message: null,
    runAt: T0 + k,
    log: [{ at: T0 + k, event: 'queued' }],
    createdAt: T0 + k,
  }));
  return { n, d };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Whether `p` settles within `ms`. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  void p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await sleep(ms);
  return settled;
}

describeWithPostgres('moving notifier rows of recipients between shards (1 → 2, one batch)', () => {
  let fx: ReshardFixture;
  let set: ShardSet;
  let from: Shard;
  let to: Shard;
  let recipients: RecipientRef[];

  beforeEach(async () => {
    fx = reshardFixture(1);
    set = await fx.openSet(8);
    const stable: Topology = { epoch: 1, state: 'stable', shards: set.shards.map((s) => s.target!) };
    expect(await set.topology.write(stable, undefined, 1)).toBe(true);
    const migrating: Topology = { epoch: 2, state: 'migrating', shards: [...stable.shards, fx.extra] };
    expect(await set.topology.write(migrating, 1, 2)).toBe(true);
    await set.apply(migrating);
    [from, to] = set.shards as [Shard, Shard];
    recipients = Array.from({ length: 30 }, (_, i) => ({ accountId: 1 + (i % 2), id: `user-${i}` }));
    const p = portsOn(from);
    for (const [i, r] of recipients.entries()) {
      expect(await p.stores.recipients.insertWithContacts({ ...r, locale: 'en', timeZone: 'UTC', now: T0 }, [{ kind: 'email', address: `${r.id}@example.com`, keys: null }])).not.toBe('conflict');
      if (i % 2 === 0) expect(await p.stores.preferences.put(r.accountId, r.id, { optOut: false, categories: {}, quietHours: null }, T0)).toBe(true);
      for (const k of [0, 1]) {
        expect(await p.inbox.insert({ accountId: r.accountId, recipientId: r.id, idempotencyKey: `m-${r.id}-${k}`, title: 't', body: 'b', data: { k }, now: T0 })).toBeDefined();
        const { n, d } = notification(r, i * 2 + k);
        expect(await p.ledger.create(n, d)).toBe('created');
      }
    }
  });

  afterEach(async () => {
    await fx.close();
  });

  it('candidatesForHash: old owner then new for the recipients the new shard takes; recipientsOwnedBy lists exactly those', async () => {
    const taken = await recipientsOwnedBy(from.database.db, ring2, 's1');
    expect(taken.length).toBeGreaterThan(3);
    expect(taken.length).toBeLessThan(recipients.length);
    for (const r of recipients) {
      const moves = ring2.lookupHash(recipientRoute(r.accountId, r.id)) === 's1';
      expect(taken.some((t) => t.accountId === r.accountId && t.id === r.id)).toBe(moves);
      expect(set.candidatesForHash(recipientRoute(r.accountId, r.id)).map((s) => s.name)).toEqual(moves ? ['s0', 's1'] : ['s0']);
    }
  });

  it('copies every per-recipient row keeping ids, verifies, deletes from the old shard; legacy notification ids stay', async () => {
    const moving = recipients.slice(0, 10);
    const staying = recipients.slice(10);
    // A notification minted before ids carried a route: it routes to s0 forever and must stay there.
    const legacy = notification(moving[0]!, 99, 'ntf_legacy_0001');
    expect(await portsOn(from).ledger.create(legacy.n, legacy.d)).toBe('created');
    const before = await readRecipientRows(from.database.db, moving, false);
    const stayingBefore = recipientChecksum(await readRecipientRows(from.database.db, staying, false));
    expect(before.recipients).toHaveLength(10);
    expect(before.contacts).toHaveLength(10);
    expect(before.preferences).toHaveLength(5);
    expect(before.inbox).toHaveLength(20);
    expect(before.notifications).toHaveLength(20);
    expect(before.deliveries).toHaveLength(40);

    expect(await moveRecipientBatch(from.database.db, to.database.db, moving)).toBe(10);

    const after = await readRecipientRows(to.database.db, moving, false);
    expect(recipientChecksum(after)).toEqual(recipientChecksum(before));
    expect(after.contacts.map((c) => c.id)).toEqual(before.contacts.map((c) => c.id));
    expect(after.inbox.map((m) => m.id)).toEqual(before.inbox.map((m) => m.id));
    const left = await readRecipientRows(from.database.db, moving, false);
    expect(recipientChecksum(left).count).toBe(0);
    // Through the stores on the new shard: the same recipient, contacts, inbox and notifications.
    const q = portsOn(to);
    const r0 = moving[0]!;
    expect((await q.stores.recipients.find(r0.accountId, r0.id))?.locale).toBe('en');
    expect(await q.stores.contacts.list(r0.accountId, r0.id)).toHaveLength(1);
    expect(await q.inbox.list(r0.accountId, r0.id, { before: null, limit: 10, unreadOnly: false })).toHaveLength(2);
    const stored = before.notifications.find((n) => n.recipient_id === r0.id && n.account_id === r0.accountId)!;
    expect((await q.ledger.findNotification(r0.accountId, stored.id))?.deliveries).toHaveLength(2);
    // The legacy notification and the other recipients are untouched on s0.
    expect(await portsOn(from).ledger.findNotification(r0.accountId, legacy.n.id)).toBeDefined();
    expect(await portsOn(to).ledger.findNotification(r0.accountId, legacy.n.id)).toBeUndefined();
    expect(recipientChecksum(await readRecipientRows(from.database.db, staying, false))).toEqual(stayingBefore);
    // Re-running moves nothing (already gone from the old shard).
    expect(await moveRecipientBatch(from.database.db, to.database.db, moving)).toBe(0);
  });

  it('replaces a stale copy a crashed run left on the new shard', async () => {
    const r = recipients[12]!;
    const stale = await readRecipientRows(from.database.db, [r], false);
    // The copy committed on the new shard, then the run died before the old shard's delete
    // committed; afterwards, old-first writes changed the old rows.
    await to.database.db.transaction().execute(async (trx) => {
      await trx.insertInto('notifier_recipients').values(stale.recipients).execute();
      await trx.insertInto('notifier_contact_points').values(stale.contacts).execute();
      await trx.insertInto('notifier_inbox').values(stale.inbox).execute();
      await trx.insertInto('notifier_notifications').values(stale.notifications).execute();
      await trx.insertInto('notifier_deliveries').values(stale.deliveries).execute();
    });
    expect(await portsOn(from).stores.recipients.update(r.accountId, r.id, { locale: 'de', updatedAt: T0 + 5 })).toBeDefined();
    const delivery = stale.deliveries[0]!.id;
    expect((await portsOn(from).ledger.claim(delivery, 'tok', T0 + 6, 30_000)).kind).toBe('claimed');
    const fresh = recipientChecksum(await readRecipientRows(from.database.db, [r], false));

    expect(await moveRecipientBatch(from.database.db, to.database.db, [r])).toBe(1);
    expect(recipientChecksum(await readRecipientRows(to.database.db, [r], false))).toEqual(fresh);
    expect((await portsOn(to).stores.recipients.find(r.accountId, r.id))?.locale).toBe('de');
    expect((await portsOn(to).ledger.findDelivery(delivery))?.status).toBe('sending');
  });

  it('writes racing a batch wait for it, then find nothing on the old shard and succeed on the new one (old first, 0 rows → new)', async () => {
    const r = recipients[3]!;
    const rows = await readRecipientRows(from.database.db, [r], false);
    const delivery = rows.deliveries[0]!.id;
    const contact = Number(rows.contacts[0]!.id);
    const old = portsOn(from);
    let claim!: Promise<unknown>;
    let inbox!: Promise<unknown>;
    let setValid!: Promise<unknown>;
    let prefs!: Promise<unknown>;
    let created!: Promise<unknown>;
    const stray = notification(r, 500);
    const moved = moveRecipientBatch(from.database.db, to.database.db, [r], async () => {
      claim = old.ledger.claim(delivery, 'tok', T0 + 7, 30_000);
      inbox = old.inbox.insert({ accountId: r.accountId, recipientId: r.id, idempotencyKey: 'late', title: 't', body: 'b', data: null, now: T0 + 7 });
      setValid = old.stores.contacts.setValid(r.accountId, r.id, contact, false, T0 + 7);
      prefs = old.stores.preferences.put(r.accountId, r.id, { optOut: true, categories: {}, quietHours: null }, T0 + 7);
      created = old.ledger.create(stray.n, stray.d);
      // The row locks hold the writes to existing rows and the foreign key holds the inserts...
      expect(await settlesWithin(Promise.all([claim, inbox, setValid, prefs]).catch(() => undefined), 300)).toBe(false);
      // ...but nothing serialises a notification create with the move: it commits on the old shard now.
      expect(await settlesWithin(created, 300)).toBe(true);
    });
    expect(await moved).toBe(1);
    expect(await claim).toEqual({ kind: 'missing' });
    expect(await inbox).toBeUndefined();
    expect(await setValid).toBeUndefined();
    expect(await prefs).toBe(false);
    // Retried on the new owner, each lands on the moved rows.
    const now = portsOn(to);
    expect((await now.ledger.claim(delivery, 'tok', T0 + 8, 30_000)).kind).toBe('claimed');
    expect((await now.inbox.insert({ accountId: r.accountId, recipientId: r.id, idempotencyKey: 'late', title: 't', body: 'b', data: null, now: T0 + 8 }))?.created).toBe(true);
    expect((await now.stores.contacts.setValid(r.accountId, r.id, contact, false, T0 + 8))?.valid).toBe(false);
    expect(await now.stores.preferences.put(r.accountId, r.id, { optOut: true, categories: {}, quietHours: null }, T0 + 8)).toBe(true);
    // The gap that keeps the refusal in `tny shards add` (ADR 10): that notification is left behind.
    expect(await created).toBe('created');
    expect(await old.ledger.findNotification(r.accountId, stray.n.id)).toBeDefined();
    expect(await now.ledger.findNotification(r.accountId, stray.n.id)).toBeUndefined();
  });
});

describeWithPostgres('moving 200 recipients in batches under concurrent reads and ledger transitions', () => {
  let fx: ReshardFixture;
  let set: ShardSet;

  beforeEach(async () => {
    fx = reshardFixture(1);
    set = await fx.openSet(10);
    const stable: Topology = { epoch: 1, state: 'stable', shards: set.shards.map((s) => s.target!) };
    expect(await set.topology.write(stable, undefined, 1)).toBe(true);
    expect(await set.topology.write({ epoch: 2, state: 'migrating', shards: [...stable.shards, fx.extra] }, 1, 2)).toBe(true);
    await set.apply((await set.topology.read())!);
  });

  afterEach(async () => {
    await fx.close();
  });

  it('old first then new never misses a recipient, notification or delivery; claims and markSent made during the move are all kept', async () => {
    const [from, to] = set.shards as [Shard, Shard];
    const old = portsOn(from);
    const now = portsOn(to);
    const recipients = Array.from({ length: 200 }, (_, i) => ({ accountId: 1, id: `r-${i}` }));
    const notifications: { r: RecipientRef; id: string; deliveries: string[] }[] = [];
    await Promise.all(
      [0, 1, 2, 3].map(async (lane) => {
        for (let i = lane; i < recipients.length; i += 4) {
          const r = recipients[i]!;
          expect(await old.stores.recipients.insertWithContacts({ ...r, locale: 'en', timeZone: 'UTC', now: T0 }, [{ kind: 'email', address: `${r.id}@example.com`, keys: null }])).not.toBe('conflict');
          if (i % 3 === 0) await old.stores.preferences.put(r.accountId, r.id, { optOut: false, categories: {}, quietHours: null }, T0);
          await old.inbox.insert({ accountId: r.accountId, recipientId: r.id, idempotencyKey: `m-${r.id}`, title: 't', body: 'b', data: null, now: T0 });
          const { n, d } = notification(r, i);
          expect(await old.ledger.create(n, d)).toBe('created');
          notifications.push({ r, id: n.id, deliveries: d.map((x) => x.id) });
        }
      }),
    );
    const before = await readRecipientRows(from.database.db, recipients, false);

    let done = false;
    let reads = 0;
    const misses: string[] = [];
    /** Old owner first, then the new one: what the sharded stores will do for a moving recipient. */
    async function reader(seed: number): Promise<void> {
      let k = seed;
      while (!done) {
        const item = notifications[(k = (k * 7 + 13) % notifications.length)]!;
        const recipient = (await old.stores.recipients.find(1, item.r.id)) ?? (await now.stores.recipients.find(1, item.r.id));
        const found = (await old.ledger.findNotification(1, item.id)) ?? (await now.ledger.findNotification(1, item.id));
        const delivery = (await old.ledger.findDelivery(item.deliveries[0]!)) ?? (await now.ledger.findDelivery(item.deliveries[0]!));
        reads += 3;
        if (!recipient) misses.push(`recipient ${item.r.id}`);
        if (!found) misses.push(`notification ${item.id}`);
        if (!delivery) misses.push(`delivery ${item.deliveries[0]}`);
      }
    }
    /** Claim then markSent every webhook delivery, old first then new, while the batches move. */
    const sent = new Set<string>();
    let fellBack = 0;
    // Last recipients first, so the senders meet the mover (which starts with the first ones).
    const order = notifications.map((n) => n).sort((a, b) => Number(b.r.id.slice(2)) - Number(a.r.id.slice(2)));
    async function sender(lane: number): Promise<void> {
      for (let i = lane; i < order.length; i += 2) {
        const id = order[i]!.deliveries[0]!;
        let claim = await old.ledger.claim(id, `tok-${i}`, T0 + 1000, 60_000);
        if (claim.kind === 'missing') {
          fellBack++;
          claim = await now.ledger.claim(id, `tok-${i}`, T0 + 1000, 60_000);
        }
        expect(claim.kind).toBe('claimed');
        const marked = (await old.ledger.markSent(id, `tok-${i}`, `p-${i}`, T0 + 1001)) || (await now.ledger.markSent(id, `tok-${i}`, `p-${i}`, T0 + 1001));
        expect(marked).toBe(true);
        sent.add(id);
      }
    }
    const readers = [1, 2, 3].map(reader);
    const senders = [0, 1].map(sender);
    let moved = 0;
    for (let i = 0; i < recipients.length; i += 20) moved += await moveRecipientBatch(from.database.db, to.database.db, recipients.slice(i, i + 20));
    await Promise.all(senders);
    done = true;
    await Promise.all(readers);

    expect(moved).toBe(200);
    expect(misses).toEqual([]);
    expect(reads).toBeGreaterThan(30);
    expect(sent.size).toBe(200);
    // Some transitions found their row already moved, some did not: they raced the batches.
    expect(fellBack).toBeGreaterThan(0);
    expect(fellBack).toBeLessThan(200);
    console.info(`[rn] 200 recipients in 10 batches: ${reads} reads (old then new) during the move, 0 misses; ${fellBack} of 200 claims found their row moved`);
    // Every row on the new shard exactly once, none left on the old one.
    expect(recipientChecksum(await readRecipientRows(from.database.db, recipients, false)).count).toBe(0);
    const after = await readRecipientRows(to.database.db, recipients, false);
    expect(after.recipients).toHaveLength(200);
    expect(after.notifications).toHaveLength(200);
    expect(after.deliveries).toHaveLength(400);
    expect(new Set(after.deliveries.map((d) => d.id)).size).toBe(400);
    // Contents: as before, plus the transitions made during the move (every webhook row sent, once).
    for (const d of after.deliveries) {
      if (d.channel !== 'webhook') continue;
      expect(d.status).toBe('sent');
      expect(d.attempts).toBe(1);
    }
    const untouched = (rows: RecipientRows) => recipientChecksum({ ...rows, deliveries: rows.deliveries.filter((d) => d.channel !== 'webhook') });
    expect(untouched(after)).toEqual(untouched(before));
    expect(recipientChecksum(after).count).toBe(recipientChecksum(before).count);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/adapters/sql/schema.js';
import { GroupCommit } from '../../src/adapters/sqlite/group-commit.js';
import { SqliteDeliveryLedger } from '../../src/adapters/sqlite/sqlite-delivery-ledger.js';
import type { DeliveryLedger, NewDelivery, Notification } from '../../src/notifier/notifications/ledger.js';
import { sqliteFactory, useFreshDatabase } from '../helpers/databases.js';
import { describeEachNotifierStore, testNotificationId, type NotifierStoreFactory } from '../helpers/notifier-stores.js';

/** A ledger on a fresh storage, the ids of the delivery rows it holds, and (PostgreSQL) a second ledger over other pools. */
interface Subject {
  ledger: DeliveryLedger;
  other?: () => Promise<DeliveryLedger>;
  deliveryIds(): Promise<string[]>;
}

/**
 * The idempotency key on the notification row (migration 0008), on SQLite, PostgreSQL and
 * shards: written in the create transaction, unique per account, so concurrent creates with one
 * key (over two pools on PostgreSQL) write one notification and the others learn its id.
 */
describeEachNotifierStore('notification idempotency key contract', (factory) => keyContract(freshStore(factory)));
/** The same on the SQLite ledger whose create runs in the group commit. */
describe('notification idempotency key contract [sqlite statements + group commit]', () => {
  const database = useFreshDatabase(sqliteFactory);
  keyContract(async () => {
    const db = database();
    return { ledger: new SqliteDeliveryLedger(db.db, db.raw!, new GroupCommit(db.db, db.raw!)), deliveryIds: () => deliveryIdsIn([db]) };
  });
});

async function deliveryIdsIn(databases: readonly { db: Kysely<Database> }[]): Promise<string[]> {
  const rows = await Promise.all(databases.map((d) => d.db.selectFrom('notifier_deliveries').select('id').execute()));
  return rows.flat().map((r) => r.id);
}

/** A fresh store per test from `factory`, closed after the test. */
function freshStore(factory: NotifierStoreFactory): () => Promise<Subject> {
  const opened: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });
  return async () => {
    const store = await factory.open();
    opened.push(store);
    return {
      ledger: store.ledger,
      ...(store.dialect === 'postgres' ? { other: async () => (await store.connectAgain()).ledger } : {}),
      deliveryIds: () => deliveryIdsIn(store.databases),
    };
  };
}

function keyContract(subject: () => Promise<Subject>): void {
  let seq = 0;
  const make = (accountId: number, key: string | null, createdAt = 1000, ttl = 10_000): [Notification, NewDelivery[]] => {
    const id = testNotificationId(accountId, 'r1', ++seq);
    const n: Notification = {
      id,
      accountId,
      recipientId: 'r1',
      category: 'c',
      template: 't',
      data: { seq },
      priority: 'normal',
      sendAt: null,
      createdAt,
      channels: ['webhook'],
      ...(key !== null ? { idempotency: { key, requestHash: 'h', expiresAt: createdAt + ttl } } : {}),
    };
    const d: NewDelivery = { id: `${id}.webhook`, notificationId: id, accountId, channel: 'webhook', status: 'pending', reason: null, contactId: null, message: null, runAt: createdAt, log: [{ at: createdAt, event: 'queued' }], createdAt };
    return [n, [d]];
  };

  it('one of 10 concurrent creates with the same key writes; the others get its id; other accounts and no key do not conflict', async () => {
    // PostgreSQL over two pools. Two synchronous SQLite connections in one process would block
    // each other's event loop; across processes it is the write lock (test/notifier/crash-serve.test.ts).
    const { ledger: first, other, deliveryIds } = await subject();
    const ledgers = other ? [first, await other()] : [first];
    const attempts = Array.from({ length: 10 }, () => make(1, 'k1'));
    const results = await Promise.all(attempts.map(([n, d], i) => ledgers[i % ledgers.length]!.create(n, d)));
    const created = results.flatMap((r, i) => (r === 'created' ? [attempts[i]![0].id] : []));
    expect(created).toHaveLength(1);
    for (const r of results) if (r !== 'created') expect(r).toEqual({ kind: 'exists', notificationId: created[0] });
    expect(await deliveryIds()).toEqual([`${created[0]}.webhook`]);
    expect(await ledgers[0]!.create(...make(2, 'k1'))).toBe('created');
    expect(await ledgers[0]!.create(...make(1, null))).toBe('created');
    expect(await ledgers[0]!.create(...make(1, null))).toBe('created');
    const found = await ledgers[ledgers.length - 1]!.findByIdempotencyKey(1, 'k1', 2000);
    expect(found?.notification).toMatchObject({ id: created[0], channels: ['webhook'], idempotency: { key: 'k1', requestHash: 'h', expiresAt: 11_000 } });
    expect(found?.deliveries.map((d) => d.id)).toEqual([`${created[0]}.webhook`]);
  });

  it('a key past its replay window is free again: not found, and a new create takes it', async () => {
    const { ledger } = await subject();
    const [first, d1] = make(1, 'old', 1000, 5000);
    expect(await ledger.create(first, d1)).toBe('created');
    expect((await ledger.findByIdempotencyKey(1, 'old', 5999))?.notification.id).toBe(first.id);
    expect(await ledger.findByIdempotencyKey(1, 'old', 6000)).toBeUndefined();
    const [second, d2] = make(1, 'old', 6000, 5000);
    expect(await ledger.create(second, d2)).toBe('created');
    expect((await ledger.findByIdempotencyKey(1, 'old', 7000))?.notification.id).toBe(second.id);
    // The old notification is still there, without the key.
    expect((await ledger.findNotification(1, first.id))?.notification.idempotency).toBeUndefined();
  });
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroupCommit } from '../../src/adapters/sqlite/group-commit.js';
import { SqliteDeliveryLedger } from '../../src/adapters/sqlite/sqlite-delivery-ledger.js';
import type { DeliveryLedger, NewDelivery, Notification } from '../../src/notifier/notifications/ledger.js';
import { sqliteFactory } from '../helpers/databases.js';
import { describeEachNotifierStore, testNotificationId } from '../helpers/notifier-stores.js';

/** A ledger under test, and (PostgreSQL) another over independent pools, as a second process has. */
interface LedgerUnderTest {
  ledger: DeliveryLedger;
  other?: () => Promise<DeliveryLedger>;
  close(): Promise<void>;
}

/** The delivery ledger's state machine on each engine and on shards; every test uses its own notification ids. */
describeEachNotifierStore('delivery ledger contract', (factory) =>
  ledgerContract(async () => {
    const store = await factory.open();
    return {
      ledger: store.ledger,
      ...(store.dialect === 'postgres' ? { other: async () => (await store.connectAgain()).ledger } : {}),
      close: () => store.close(),
    };
  }),
);
/** The SQLite ledger whose hot transitions are single statements through the group commit: same contract. */
describe('delivery ledger contract [sqlite statements + group commit]', () =>
  ledgerContract(async () => {
    const db = await sqliteFactory.open();
    return { ledger: new SqliteDeliveryLedger(db.db, db.raw!, new GroupCommit(db.db, db.raw!)), close: () => db.close() };
  }));

function ledgerContract(open: () => Promise<LedgerUnderTest>): void {
  let subject: LedgerUnderTest;
  let seq = 0;
  beforeAll(async () => {
    subject = await open();
  });
  afterAll(() => subject.close());

  const ledger = (): DeliveryLedger => subject.ledger;
  async function newDelivery(accountId = 1, createdAt = 1000, cap?: { count: number; since: number }): Promise<string | 'capped'> {
    seq += 1;
    const id = testNotificationId(accountId, 'r1', seq);
    const n: Notification = { id, accountId, recipientId: 'r1', category: 'c', template: 't', data: { a: 1 }, priority: 'normal', sendAt: null, createdAt };
    const d: NewDelivery = {
      id: `${id}.webhook`,
      notificationId: id,
      accountId,
      channel: 'webhook',
      status: 'pending',
      reason: null,
      contactId: 7,
      message: { channel: 'webhook', url: 'https://example.com/h', type: 'notification.c', data: { x: 1 } },
      runAt: createdAt,
      log: [{ at: createdAt, event: 'queued' }],
      createdAt,
    };
    if ((await ledger().create(n, [d], cap)) === 'capped') return 'capped';
    return d.id;
  }

  it('claims a pending row once: concurrent claims give exactly one winner, the rest see it busy', async () => {
    const id = await newDelivery();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => ledger().claim(id, `token-${i}`, 2000, 30_000)));
    expect(results.filter((r) => r.kind === 'claimed')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'busy')).toHaveLength(7);
    const winner = results.find((r) => r.kind === 'claimed');
    expect(winner?.kind === 'claimed' && winner.delivery.attempts).toBe(1);
    expect(winner?.kind === 'claimed' && winner.delivery.message).toMatchObject({ channel: 'webhook', url: 'https://example.com/h' });
  });

  it('marks sent only under the claiming token; a redelivered job then finds it sent', async () => {
    const id = await newDelivery();
    const claimed = await ledger().claim(id, 'a', 2000, 30_000);
    expect(claimed.kind).toBe('claimed');
    expect(await ledger().markSent(id, 'someone-else', 'p1', 2100)).toBe(false);
    expect(await ledger().markSent(id, 'a', 'p1', 2100)).toBe(true);
    expect(await ledger().claim(id, 'b', 99_999_999, 30_000)).toEqual({ kind: 'sent' });
    const row = await ledger().findDelivery(id);
    expect(row).toMatchObject({ status: 'sent', providerMessageId: 'p1', attempts: 1 });
    expect(row!.log.map((e) => e.event)).toEqual(['queued', 'claimed', 'sent']);
  });

  it('reclaims a sending row only after its lease (the documented duplicate window), and the old token loses', async () => {
    const id = await newDelivery();
    expect((await ledger().claim(id, 'dead-worker', 2000, 30_000)).kind).toBe('claimed');
    expect((await ledger().claim(id, 'b', 2000 + 29_999, 30_000)).kind).toBe('busy');
    const again = await ledger().claim(id, 'b', 2000 + 30_000, 30_000);
    expect(again.kind).toBe('claimed');
    expect(again.kind === 'claimed' && again.delivery.attempts).toBe(2);
    expect(await ledger().markSent(id, 'dead-worker', null, 40_000)).toBe(false);
    expect(await ledger().release(id, 'dead-worker', 'failed', 'late', 40_000)).toBe(false);
    expect(await ledger().markSent(id, 'b', null, 40_000)).toBe(true);
    expect((await ledger().findDelivery(id))!.log.map((e) => e.event)).toEqual(['queued', 'claimed', 'reclaimed', 'sent']);
  });

  it('release: pending again for a retry, dead at the end; revive only dead/failed rows of the same account', async () => {
    const id = await newDelivery(5);
    await ledger().claim(id, 'a', 2000, 30_000);
    expect(await ledger().release(id, 'a', 'pending', 'RetryableError: 503', 2100)).toBe(true);
    expect(await ledger().claim(id, 'b', 2200, 30_000)).toMatchObject({ kind: 'claimed' });
    expect(await ledger().release(id, 'b', 'dead', 'RetryableError: 503 again', 2300)).toBe(true);
    expect(await ledger().claim(id, 'c', 2400, 30_000)).toEqual({ kind: 'final', status: 'dead' });
    expect((await ledger().listByStatus(5, 'dead', null, 10)).map((d) => d.id)).toEqual([id]);
    expect(await ledger().revive(6, id, 2500)).toBeUndefined();
    const revived = await ledger().revive(5, id, 2500);
    expect(revived).toMatchObject({ status: 'pending', lastError: 'RetryableError: 503 again' });
    expect(await ledger().revive(5, id, 2600)).toBeUndefined();
    expect((await ledger().listUnfinished(null, 10_000)).map((d) => d.id)).toContain(id);
  });

  it('reads the priorities of many notifications in one call (re-queueing a page of unfinished rows)', async () => {
    const a = (await newDelivery()) as string;
    const b = (await newDelivery()) as string;
    const ids = [a, b].map((d) => d.replace(/\.webhook$/, ''));
    const got = await ledger().priorities([...ids, ids[0]!, 'ntf_missing']);
    expect([...got]).toEqual(ids.map((id) => [id, 'normal']));
  });

  it('counts notifications of (recipient, category) since a time, for the frequency cap', async () => {
    await newDelivery(9, 10_000);
    await newDelivery(9, 20_000);
    await newDelivery(9, 30_000);
    expect(await ledger().countSince(9, 'r1', 'c', 20_000)).toBe(2);
    expect(await ledger().countSince(9, 'r1', 'other', 0)).toBe(0);
    expect(await ledger().countSince(9, 'r2', 'c', 0)).toBe(0);
  });

  it('the cap is atomic: 12 concurrent creates with a cap of 3 in the window give exactly 3 created (PostgreSQL: over two pools)', async () => {
    // Two synchronous SQLite connections in one process would block each other's event loop;
    // the cross-process SQLite case is the write lock the insert takes (see the crash test's file).
    const ledgers = subject.other ? [ledger(), await subject.other()] : [ledger()];
    seq += 1000;
    const results = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        seq += 1;
        const id = testNotificationId(11, 'r1', seq);
        const n: Notification = { id, accountId: 11, recipientId: 'r1', category: 'c', template: 't', data: {}, priority: 'normal', sendAt: null, createdAt: 5000 };
        const d: NewDelivery = { id: `${id}.console`, notificationId: id, accountId: 11, channel: 'console', status: 'pending', reason: null, contactId: null, message: null, runAt: 5000, log: [], createdAt: 5000 };
        return ledgers[i % ledgers.length]!.create(n, [d], { count: 3, since: 0 });
      }),
    );
    expect(results.filter((r) => r === 'created')).toHaveLength(3);
    expect(await ledger().countSince(11, 'r1', 'c', 0)).toBe(3);
  });
}

import { createHash } from 'node:crypto';
import type { Expression, ExpressionBuilder, Kysely, Selectable, SqlBool, Transaction } from 'kysely';
import { recipientRoute, routeOfNotificationId } from '../../notifier/notifications/ids.js';
import type {
  Database,
  NotifierContactPointsTable,
  NotifierDeliveriesTable,
  NotifierInboxTable,
  NotifierNotificationsTable,
  NotifierPreferencesTable,
  NotifierRecipientsTable,
} from '../sql/schema.js';
import { chunks } from '../sql/sql-helpers.js';
import type { HashRing } from '../../platform/hashing/hash-ring.js';

type Db = Kysely<Database> | Transaction<Database>;

/** A recipient: its rows route by `${accountId}:${id}` (ADR 10). */
export interface RecipientRef {
  accountId: number;
  id: string;
}

/** Every per-recipient row that moves with a batch of recipients. */
export interface RecipientRows {
  recipients: Selectable<NotifierRecipientsTable>[];
  contacts: Selectable<NotifierContactPointsTable>[];
  preferences: Selectable<NotifierPreferencesTable>[];
  /** Only notifications whose id carries a ring position: ids without one route to s0 forever and stay. */
  notifications: Selectable<NotifierNotificationsTable>[];
  deliveries: Selectable<NotifierDeliveriesTable>[];
  inbox: Selectable<NotifierInboxTable>[];
}

/** The copy on the new shard differs from the rows on the old one; nothing was deleted. */
export class RecipientMoveMismatchError extends Error {
  constructor(readonly recipients: number) {
    super(`moved batch of ${recipients} notifier recipients does not match on the new shard (count or checksum); it was not deleted from the old shard`);
  }
}

/** `(account_id, <column>) in ((a, r), …)` for one chunk of recipients. */
function ofRecipients<T extends keyof Database>(column: 'id' | 'recipient_id', refs: readonly RecipientRef[]) {
  return (eb: ExpressionBuilder<Database, T>): Expression<SqlBool> =>
    eb.or(refs.map((r) => eb.and([eb(eb.ref('account_id' as never), '=', r.accountId as never), eb(eb.ref(column as never), '=', r.id as never)])));
}

/**
 * The batch's rows on `db`; with `lock`, row-locked FOR UPDATE in a fixed order (recipients
 * first), so the UPDATEs and DELETEs by id of the stores (edits, claim/markSent/release, read
 * marks) wait for the move and then find nothing, and an INSERT of a contact point, preference
 * or inbox row (their foreign key takes a KEY SHARE lock on the recipient row) waits and then
 * fails, as it does for a recipient that does not exist.
 */
export async function readRecipientRows(db: Db, refs: readonly RecipientRef[], lock: boolean): Promise<RecipientRows> {
  const out: RecipientRows = { recipients: [], contacts: [], preferences: [], notifications: [], deliveries: [], inbox: [] };
  for (const part of chunks([...refs], 200)) {
    const recipients = db.selectFrom('notifier_recipients').selectAll().where(ofRecipients('id', part)).orderBy('account_id').orderBy('id');
    out.recipients.push(...(await (lock ? recipients.forUpdate() : recipients).execute()));
  }
  for (const part of chunks([...refs], 200)) {
    const contacts = db.selectFrom('notifier_contact_points').selectAll().where(ofRecipients('recipient_id', part)).orderBy('id');
    const preferences = db.selectFrom('notifier_preferences').selectAll().where(ofRecipients('recipient_id', part)).orderBy('account_id').orderBy('recipient_id');
    const inbox = db.selectFrom('notifier_inbox').selectAll().where(ofRecipients('recipient_id', part)).orderBy('id');
    const notifications = db.selectFrom('notifier_notifications').selectAll().where(ofRecipients('recipient_id', part)).orderBy('id');
    out.contacts.push(...(await (lock ? contacts.forUpdate() : contacts).execute()));
    out.preferences.push(...(await (lock ? preferences.forUpdate() : preferences).execute()));
    out.inbox.push(...(await (lock ? inbox.forUpdate() : inbox).execute()));
    out.notifications.push(...(await (lock ? notifications.forUpdate() : notifications).execute()).filter((n) => routeOfNotificationId(n.id) !== undefined));
  }
  for (const part of chunks(out.notifications.map((n) => n.id))) {
    const deliveries = db.selectFrom('notifier_deliveries').selectAll().where('notification_id', 'in', part).orderBy('id');
    out.deliveries.push(...(await (lock ? deliveries.forUpdate() : deliveries).execute()));
  }
  return out;
}

/**
 * A checksum over the batch's content, independent of row order: every column of every row,
 * canonical, sorted, hashed.
 */
export function recipientChecksum(rows: RecipientRows): { count: number; sum: string } {
  // Both sides are PostgreSQL read by the same driver: the values compare as they come.
  const canon = (row: object) => JSON.stringify(Object.entries(row).sort(([a], [b]) => (a < b ? -1 : 1)));
  const lines = [
    ...rows.recipients.map((r) => `r${canon(r)}`),
    ...rows.contacts.map((r) => `c${canon(r)}`),
    ...rows.preferences.map((r) => `p${canon(r)}`),
    ...rows.notifications.map((r) => `n${canon(r)}`),
    ...rows.deliveries.map((r) => `d${canon(r)}`),
    ...rows.inbox.map((r) => `i${canon(r)}`),
  ].sort();
  const hash = createHash('sha256');
  for (const line of lines) hash.update(line).update('\n');
  const count = rows.recipients.length + rows.contacts.length + rows.preferences.length + rows.notifications.length + rows.deliveries.length + rows.inbox.length;
  return { count, sum: hash.digest('hex') };
}

/**
 * Moves the per-recipient notifier rows of `refs` from `from` to `to`, keeping every id (contact
 * point and inbox ids are interleaved across shards, notification and delivery ids are global),
 * as moveBatch does for links (ADR 8): one transaction on the old shard locks the rows
 * (readRecipientRows), one on the new shard replaces whatever an earlier crashed run left there
 * for these recipients and copies the rows, the copy is verified (count and checksum), then the
 * old rows are deleted (recipients by key, their contact points, preferences and inbox cascade;
 * notifications and deliveries by the ids copied) and the old transaction commits. Returns how
 * many recipients moved (ones already gone are skipped). `locked` runs while the rows are held
 * (a test seam). A mismatch throws RecipientMoveMismatchError and changes nothing on the old shard.
 *
 * NOT WIRED into `tny shards add` yet (ADR 10): the stores do not route a moving recipient to
 * two candidates, and a notification created concurrently (no foreign key serialises it with
 * the move) would stay on the old shard.
 */
export async function moveRecipientBatch(
  from: Kysely<Database>,
  to: Kysely<Database>,
  refs: readonly RecipientRef[],
  locked?: () => Promise<void>,
): Promise<number> {
  if (refs.length === 0) return 0;
  return from.transaction().execute(async (otx) => {
    const rows = await readRecipientRows(otx, refs, true);
    if (rows.recipients.length === 0) return 0;
    await locked?.();
    const moving = rows.recipients.map((r) => ({ accountId: Number(r.account_id), id: r.id }));
    const expected = recipientChecksum(rows);
    const notificationIds = rows.notifications.map((n) => n.id);
    const deliveryIds = rows.deliveries.map((d) => d.id);
    await to.transaction().execute(async (ntx) => {
      for (const part of chunks(deliveryIds)) await ntx.deleteFrom('notifier_deliveries').where('id', 'in', part).execute();
      for (const part of chunks(notificationIds)) await ntx.deleteFrom('notifier_notifications').where('id', 'in', part).execute();
      for (const part of chunks(moving, 200)) await ntx.deleteFrom('notifier_recipients').where(ofRecipients('id', part)).execute();
      for (const part of chunks(rows.recipients)) await ntx.insertInto('notifier_recipients').values(part).execute();
      for (const part of chunks(rows.contacts)) await ntx.insertInto('notifier_contact_points').values(part).execute();
      for (const part of chunks(rows.preferences)) await ntx.insertInto('notifier_preferences').values(part).execute();
      for (const part of chunks(rows.inbox)) await ntx.insertInto('notifier_inbox').values(part).execute();
      for (const part of chunks(rows.notifications)) await ntx.insertInto('notifier_notifications').values(part).execute();
      for (const part of chunks(rows.deliveries)) await ntx.insertInto('notifier_deliveries').values(part).execute();
    });
    const check = recipientChecksum(await readRecipientRows(to, moving, false));
    if (check.count !== expected.count || check.sum !== expected.sum) throw new RecipientMoveMismatchError(moving.length);
    for (const part of chunks(deliveryIds)) await otx.deleteFrom('notifier_deliveries').where('id', 'in', part).execute();
    for (const part of chunks(notificationIds)) await otx.deleteFrom('notifier_notifications').where('id', 'in', part).execute();
    for (const part of chunks(moving, 200)) await otx.deleteFrom('notifier_recipients').where(ofRecipients('id', part)).execute();
    return moving.length;
  });
}

/** The recipients of a shard that `ring` gives to `owner` (keyset pages over the primary key). */
export async function recipientsOwnedBy(db: Kysely<Database>, ring: HashRing, owner: string): Promise<RecipientRef[]> {
  const out: RecipientRef[] = [];
  let after: RecipientRef | undefined;
  for (;;) {
    let q = db.selectFrom('notifier_recipients').select(['account_id', 'id']);
    if (after) {
      const a = after;
      q = q.where((eb) => eb.or([eb('account_id', '>', a.accountId), eb.and([eb('account_id', '=', a.accountId), eb('id', '>', a.id)])]));
    }
    const rows = await q.orderBy('account_id').orderBy('id').limit(5000).execute();
    for (const r of rows) {
      const ref = { accountId: Number(r.account_id), id: r.id };
      if (ring.lookupHash(recipientRoute(ref.accountId, ref.id)) === owner) out.push(ref);
    }
    if (rows.length < 5000) return out;
    after = { accountId: Number(rows.at(-1)!.account_id), id: rows.at(-1)!.id };
  }
}

/**
 * Rows of `db` that `ring` gives to `owner`: recipients, and notifications whose id carries a
 * ring position there (a notification outlives its recipient's deletion). Keyset pages.
 */
export async function movingNotifierRows(db: Kysely<Database>, ring: HashRing, owner: string): Promise<{ recipients: number; notifications: number; example?: string }> {
  const recipients = await recipientsOwnedBy(db, ring, owner);
  let notifications = 0;
  let example = recipients[0] && `recipient ${recipients[0].accountId}:${recipients[0].id}`;
  let after: string | undefined;
  for (;;) {
    let q = db.selectFrom('notifier_notifications').select('id');
    if (after !== undefined) q = q.where('id', '>', after);
    const rows = await q.orderBy('id').limit(5000).execute();
    for (const { id } of rows) {
      const route = routeOfNotificationId(id);
      if (route === undefined || ring.lookupHash(route) !== owner) continue;
      notifications++;
      example ??= `notification ${id}`;
    }
    if (rows.length < 5000) return { recipients: recipients.length, notifications, ...(example ? { example } : {}) };
    after = rows.at(-1)!.id;
  }
}

import type { Kysely, Selectable, Updateable } from 'kysely';
import type { RecipientRepository } from '../../notifier/ports.js';
import type { ContactPoint, NewRecipient, Recipient } from '../../notifier/recipient.js';
import { toContact } from './kysely-notifier-contact-points.js';
import type { Database, NotifierRecipientsTable, SqlDialectName } from './schema.js';
import { binaryText } from './sql-helpers.js';

function toRecipient(row: Selectable<NotifierRecipientsTable>): Recipient {
  return {
    accountId: Number(row.account_id),
    id: row.id,
    locale: row.locale,
    timeZone: row.time_zone,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function insertRecipient(db: Kysely<Database>, r: NewRecipient): Promise<Selectable<NotifierRecipientsTable> | undefined> {
  return db
    .insertInto('notifier_recipients')
    .values({ account_id: r.accountId, id: r.id, locale: r.locale, time_zone: r.timeZone, created_at: r.now, updated_at: r.now })
    .onConflict((oc) => oc.columns(['account_id', 'id']).doNothing())
    .returningAll()
    .executeTakeFirst();
}

/** Recipients in `notifier_recipients`, keyed (account_id, id); one implementation for both engines. */
export class KyselyNotifierRecipients implements RecipientRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialectName,
  ) {}

  /** `ON CONFLICT DO NOTHING RETURNING`: a taken id yields no row and no aborted transaction. */
  async insert(r: NewRecipient): Promise<Recipient | 'conflict'> {
    const row = await insertRecipient(this.db, r);
    return row ? toRecipient(row) : 'conflict';
  }

  /**
   * The recipient, then its contact points, in one transaction (the caller has removed
   * duplicates). Without contact points it is the single statement of `insert`: a transaction
   * held across an await would make a second SQLite connection in the same process block the
   * event loop on the write lock (tny uses one per process; tests use two).
   */
  async insertWithContacts(
    r: NewRecipient,
    contacts: readonly Pick<ContactPoint, 'kind' | 'address' | 'keys'>[],
  ): Promise<{ recipient: Recipient; contacts: ContactPoint[] } | 'conflict'> {
    if (contacts.length === 0) {
      const recipient = await this.insert(r);
      return recipient === 'conflict' ? recipient : { recipient, contacts: [] };
    }
    return this.db.transaction().execute(async (trx) => {
      const row = await insertRecipient(trx, r);
      if (!row) return 'conflict' as const;
      const added = await trx
        .insertInto('notifier_contact_points')
        .values(
          contacts.map((c) => ({
            account_id: r.accountId,
            recipient_id: r.id,
            kind: c.kind,
            address: c.address,
            keys: c.keys === null ? null : JSON.stringify(c.keys),
            valid: 1,
            created_at: r.now,
            updated_at: r.now,
          })),
        )
        .returningAll()
        .execute();
      return { recipient: toRecipient(row), contacts: added.map(toContact).sort((a, b) => a.id - b.id) };
    });
  }

  async find(accountId: number, id: string): Promise<Recipient | undefined> {
    const row = await this.db.selectFrom('notifier_recipients').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
    return row && toRecipient(row);
  }

  async update(accountId: number, id: string, changes: { locale?: string; timeZone?: string; updatedAt: number }): Promise<Recipient | undefined> {
    const set: Updateable<NotifierRecipientsTable> = { updated_at: changes.updatedAt };
    if (changes.locale !== undefined) set.locale = changes.locale;
    if (changes.timeZone !== undefined) set.time_zone = changes.timeZone;
    const row = await this.db
      .updateTable('notifier_recipients')
      .set(set)
      .where('account_id', '=', accountId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row && toRecipient(row);
  }

  /** Contact points and preferences go with it (ON DELETE CASCADE). */
  async delete(accountId: number, id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('notifier_recipients').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Keyset over the primary key, ids compared byte-wise on both engines. */
  async list(accountId: number, after: string | null, limit: number): Promise<Recipient[]> {
    const id = binaryText(this.dialect, 'id');
    let q = this.db.selectFrom('notifier_recipients').selectAll().where('account_id', '=', accountId);
    if (after !== null) q = q.where(id, '>', after);
    return (await q.orderBy(id).limit(limit).execute()).map(toRecipient);
  }
}

import type { Kysely, Selectable } from 'kysely';
import type { ContactKind } from '../../notifier/channel-names.js';
import type { ContactPointRepository } from '../../notifier/ports.js';
import type { ContactPoint, NewContactPoint } from '../../notifier/recipient.js';
import type { Database, NotifierContactPointsTable } from './schema.js';

export function toContact(row: Selectable<NotifierContactPointsTable>): ContactPoint {
  return {
    id: Number(row.id),
    accountId: Number(row.account_id),
    recipientId: row.recipient_id,
    kind: row.kind as ContactKind,
    address: row.address,
    keys: row.keys === null ? null : (JSON.parse(row.keys) as ContactPoint['keys']),
    valid: Number(row.valid) === 1,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** Contact points in `notifier_contact_points`, unique per (recipient, kind, address). */
export class KyselyNotifierContactPoints implements ContactPointRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async add(c: NewContactPoint): Promise<ContactPoint | 'conflict' | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const owner = await trx
        .selectFrom('notifier_recipients')
        .select('id')
        .where('account_id', '=', c.accountId)
        .where('id', '=', c.recipientId)
        .executeTakeFirst();
      if (!owner) return undefined;
      const row = await trx
        .insertInto('notifier_contact_points')
        .values({
          account_id: c.accountId,
          recipient_id: c.recipientId,
          kind: c.kind,
          address: c.address,
          keys: c.keys === null ? null : JSON.stringify(c.keys),
          valid: c.valid === false ? 0 : 1,
          created_at: c.now,
          updated_at: c.now,
        })
        .onConflict((oc) => oc.columns(['account_id', 'recipient_id', 'kind', 'address']).doNothing())
        .returningAll()
        .executeTakeFirst();
      return row ? toContact(row) : 'conflict';
    });
  }

  async list(accountId: number, recipientId: string): Promise<ContactPoint[]> {
    return (await this.listMany(accountId, [recipientId])).get(recipientId) ?? [];
  }

  async listMany(accountId: number, recipientIds: readonly string[]): Promise<Map<string, ContactPoint[]>> {
    const out = new Map<string, ContactPoint[]>();
    if (recipientIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('notifier_contact_points')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('recipient_id', 'in', [...new Set(recipientIds)])
      .orderBy('id')
      .execute();
    for (const row of rows) {
      const list = out.get(row.recipient_id) ?? [];
      list.push(toContact(row));
      out.set(row.recipient_id, list);
    }
    return out;
  }

  async setValid(accountId: number, recipientId: string, contactId: number, valid: boolean, now: number): Promise<ContactPoint | undefined> {
    const row = await this.db
      .updateTable('notifier_contact_points')
      .set({ valid: valid ? 1 : 0, updated_at: now })
      .where('id', '=', contactId)
      .where('account_id', '=', accountId)
      .where('recipient_id', '=', recipientId)
      .returningAll()
      .executeTakeFirst();
    return row && toContact(row);
  }

  async markInvalid(accountId: number, recipientId: string, contactId: number, now: number): Promise<void> {
    await this.db
      .updateTable('notifier_contact_points')
      .set({ valid: 0, updated_at: now })
      .where('id', '=', contactId)
      .where('account_id', '=', accountId)
      .where('recipient_id', '=', recipientId)
      .execute();
  }

  async delete(accountId: number, recipientId: string, contactId: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom('notifier_contact_points')
      .where('id', '=', contactId)
      .where('account_id', '=', accountId)
      .where('recipient_id', '=', recipientId)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}

import { sql, type Kysely, type Selectable } from 'kysely';
import type { InboxMessage, InboxRepository, NewInboxMessage } from '../../notifier/inbox/inbox.js';
import type { Database, NotifierInboxTable } from './schema.js';

function toMessage(row: Selectable<NotifierInboxTable>): InboxMessage {
  return {
    id: Number(row.id),
    accountId: Number(row.account_id),
    recipientId: row.recipient_id,
    title: row.title,
    body: row.body,
    data: row.data === null ? null : (JSON.parse(row.data) as Record<string, unknown>),
    createdAt: Number(row.created_at),
    readAt: row.read_at === null ? null : Number(row.read_at),
  };
}

/** A foreign-key violation on either engine: the recipient does not exist (any more). */
export function isMissingRecipient(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/** In-app messages in `notifier_inbox`; one implementation for SQLite and PostgreSQL. */
export class KyselyInbox implements InboxRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * `ON CONFLICT DO NOTHING RETURNING` on the unique (account, idempotency key): concurrent
   * sends of one delivery store one row, and the losers read the winner's. Undefined when the
   * recipient does not exist (the foreign key refuses the row).
   */
  async insert(m: NewInboxMessage): Promise<{ message: InboxMessage; created: boolean } | undefined> {
    let row: Selectable<NotifierInboxTable> | undefined;
    try {
      row = await this.db
        .insertInto('notifier_inbox')
        .values({
          account_id: m.accountId,
          recipient_id: m.recipientId,
          idempotency_key: m.idempotencyKey,
          title: m.title,
          body: m.body,
          data: m.data === null ? null : JSON.stringify(m.data),
          created_at: m.now,
          read_at: null,
        })
        .onConflict((oc) => oc.columns(['account_id', 'idempotency_key']).doNothing())
        .returningAll()
        .executeTakeFirst();
    } catch (err) {
      if (isMissingRecipient(err)) return undefined;
      throw err;
    }
    if (row) return { message: toMessage(row), created: true };
    const existing = await this.db
      .selectFrom('notifier_inbox')
      .selectAll()
      .where('account_id', '=', m.accountId)
      .where('idempotency_key', '=', m.idempotencyKey)
      .executeTakeFirstOrThrow();
    return { message: toMessage(existing), created: false };
  }

  async list(accountId: number, recipientId: string, q: { before: number | null; limit: number; unreadOnly: boolean }): Promise<InboxMessage[]> {
    let query = this.db.selectFrom('notifier_inbox').selectAll().where('account_id', '=', accountId).where('recipient_id', '=', recipientId);
    if (q.before !== null) query = query.where('id', '<', q.before);
    if (q.unreadOnly) query = query.where('read_at', 'is', null);
    const rows = await query.orderBy('id', 'desc').limit(q.limit).execute();
    return rows.map(toMessage);
  }

  async since(accountId: number, recipientId: string, afterId: number, limit: number): Promise<InboxMessage[]> {
    const rows = await this.db
      .selectFrom('notifier_inbox')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('recipient_id', '=', recipientId)
      .where('id', '>', afterId)
      .orderBy('id', 'asc')
      .limit(limit)
      .execute();
    return rows.map(toMessage);
  }

  /** One statement: `coalesce` keeps the first read time when a read message is read again. */
  async setRead(accountId: number, recipientId: string, id: number, readAt: number | null): Promise<InboxMessage | undefined> {
    const row = await this.db
      .updateTable('notifier_inbox')
      .set({ read_at: readAt === null ? null : sql<number>`coalesce(read_at, ${readAt})` })
      .where('account_id', '=', accountId)
      .where('recipient_id', '=', recipientId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row && toMessage(row);
  }

  async unreadCount(accountId: number, recipientId: string): Promise<number> {
    const row = await this.db
      .selectFrom('notifier_inbox')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('account_id', '=', accountId)
      .where('recipient_id', '=', recipientId)
      .where('read_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

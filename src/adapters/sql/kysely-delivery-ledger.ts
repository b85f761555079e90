import type { ChannelName } from '../../notifier/channel-names.js';
import type { OutgoingMessage } from '../../notifier/channels/channel.js';
import type { SuppressionReason } from '../../notifier/decide-delivery.js';
import type {
  ClaimResult,
  CreateResult,
  Delivery,
  DeliveryLedger,
  DeliveryStatus,
  LogEntry,
  NewDelivery,
  Notification,
  Priority,
} from '../../notifier/notifications/ledger.js';
import { isExpression, sql, type Expression, type Kysely, type RawBuilder, type Selectable, type Transaction } from 'kysely';
import { chunks } from './sql-helpers.js';
import type { Database, NotifierDeliveriesTable, NotifierNotificationsTable, SqlDialectName } from './schema.js';

/** Thrown inside the transaction to roll it back when the cap is exceeded. */
const CAPPED = Symbol('capped');

/** Longest error text kept on a row (provider messages can be long; the log keeps the gist). */
const MAX_ERROR = 500;

export function toDelivery(row: Selectable<NotifierDeliveriesTable>): Delivery {
  return {
    id: row.id,
    notificationId: row.notification_id,
    accountId: Number(row.account_id),
    channel: row.channel as ChannelName,
    status: row.status as DeliveryStatus,
    reason: row.reason as SuppressionReason | null,
    contactId: row.contact_id === null ? null : Number(row.contact_id),
    message: row.message === null ? null : (JSON.parse(row.message) as OutgoingMessage),
    runAt: Number(row.run_at),
    attempts: Number(row.attempts),
    providerMessageId: row.provider_message_id,
    lastError: row.last_error,
    log: JSON.parse(row.log) as LogEntry[],
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toNotification(row: Selectable<NotifierNotificationsTable>): Notification {
  return {
    id: row.id,
    accountId: Number(row.account_id),
    recipientId: row.recipient_id,
    category: row.category,
    template: row.template,
    data: JSON.parse(row.data) as Record<string, unknown>,
    priority: row.priority as Priority,
    sendAt: row.send_at === null ? null : Number(row.send_at),
    createdAt: Number(row.created_at),
    ...(row.idempotency_key !== null && row.request_hash !== null && row.idempotency_expires_at !== null
      ? { idempotency: { key: row.idempotency_key, requestHash: row.request_hash, expiresAt: Number(row.idempotency_expires_at) } }
      : {}),
    ...(row.channels !== null && row.channels !== '' ? { channels: row.channels.split(',') as ChannelName[] } : {}),
  };
}

/** The `notifier_notifications` row of a notification (the idempotency key and answer order included). */
export function notificationRow(n: Notification) {
  const idem = n.idempotency;
  return {
    id: n.id,
    account_id: n.accountId,
    recipient_id: n.recipientId,
    category: n.category,
    template: n.template,
    data: JSON.stringify(n.data),
    priority: n.priority,
    send_at: n.sendAt,
    created_at: n.createdAt,
    idempotency_key: idem?.key ?? null,
    request_hash: idem?.requestHash ?? null,
    idempotency_expires_at: idem?.expiresAt ?? null,
    channels: n.channels ? n.channels.join(',') : null,
  };
}

export function deliveryRow(d: NewDelivery) {
  return {
    id: d.id,
    notification_id: d.notificationId,
    account_id: d.accountId,
    channel: d.channel,
    status: d.status,
    reason: d.reason,
    contact_id: d.contactId,
    message: d.message === null ? null : JSON.stringify(d.message),
    run_at: d.runAt,
    attempts: 0,
    claim_token: null,
    claimed_at: null,
    provider_message_id: null,
    last_error: null,
    log: JSON.stringify(d.log),
    created_at: d.createdAt,
    updated_at: d.createdAt,
  };
}

/**
 * The delivery ledger in `notifier_notifications` / `notifier_deliveries`. Every state change
 * is one conditional UPDATE (status and claim token in the WHERE), so two workers holding the
 * same job after a lease takeover cannot both move a row: the loser's update matches nothing.
 * Each transition, its log entry included, is one statement (UPDATE … RETURNING).
 */
export class KyselyDeliveryLedger implements DeliveryLedger {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialectName = 'sqlite',
  ) {}

  async create(n: Notification, deliveries: readonly NewDelivery[], cap?: { count: number; since: number }): Promise<CreateResult> {
    // PostgreSQL without a cap: one statement (one round trip) instead of a five-statement
    // transaction. A key held by a notification past its replay window takes the slow path,
    // which frees it first.
    if (!cap && this.dialect === 'postgres' && deliveries.length > 0) {
      if (await this.insertInOneStatement(n, deliveries)) return 'created';
      const key = n.idempotency?.key;
      if (key === undefined) throw new Error(`notification ${n.id} was not inserted`);
      const holder = await this.db
        .selectFrom('notifier_notifications')
        .select(['id', 'idempotency_expires_at'])
        .where('account_id', '=', n.accountId)
        .where('idempotency_key', '=', key)
        .executeTakeFirst();
      if (holder && Number(holder.idempotency_expires_at) > n.createdAt) return { kind: 'exists', notificationId: holder.id };
    }
    try {
      return await this.db.transaction().execute(async (trx): Promise<CreateResult> => {
        // SQLite: the insert below takes the database's write lock, serialising every writer.
        // PostgreSQL: concurrent inserts do not see each other, so one lock per cap key.
        if (cap && this.dialect === 'postgres') {
          await sql`select pg_advisory_xact_lock(hashtext(${`tny-cap:${n.accountId}:${n.recipientId}:${n.category}`}))`.execute(trx);
        }
        const existing = await this.insert(trx, n, deliveries);
        if (existing !== undefined) return { kind: 'exists', notificationId: existing };
        if (cap && (await this.countIn(trx, n.accountId, n.recipientId, n.category, cap.since)) > cap.count) throw CAPPED;
        return 'created';
      });
    } catch (err) {
      if (err === CAPPED) return 'capped';
      throw err;
    }
  }

  /**
   * PostgreSQL: the notification and its delivery rows in ONE statement (a data-modifying CTE,
   * atomic like any statement); the rows go in only if the notification did (its key was free).
   * False when the key is held.
   */
  private async insertInOneStatement(n: Notification, deliveries: readonly NewDelivery[]): Promise<boolean> {
    const r = notificationRow(n);
    const rows = deliveries.map(deliveryRow);
    const result = await sql<{ id: string }>`
      WITH n AS (
        INSERT INTO notifier_notifications (id, account_id, recipient_id, category, template, data, priority, send_at, created_at, idempotency_key, request_hash, idempotency_expires_at, channels)
        VALUES (${r.id}, ${r.account_id}, ${r.recipient_id}, ${r.category}, ${r.template}, ${r.data}, ${r.priority}, ${r.send_at}, ${r.created_at}, ${r.idempotency_key}, ${r.request_hash}, ${r.idempotency_expires_at}, ${r.channels})
        ON CONFLICT (account_id, idempotency_key) DO NOTHING
        RETURNING id
      )
      INSERT INTO notifier_deliveries (id, notification_id, account_id, channel, status, reason, contact_id, message, run_at, attempts, claim_token, claimed_at, provider_message_id, last_error, log, created_at, updated_at)
      SELECT v.id, v.notification_id, v.account_id, v.channel, v.status, v.reason, v.contact_id, v.message, v.run_at, v.attempts, v.claim_token, v.claimed_at, v.provider_message_id, v.last_error, v.log, v.created_at, v.updated_at
      FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS v(id text, notification_id text, account_id bigint, channel text, status text, reason text, contact_id bigint, message text, run_at bigint, attempts integer, claim_token text, claimed_at bigint, provider_message_id text, last_error text, log text, created_at bigint, updated_at bigint)
      WHERE EXISTS (SELECT 1 FROM n)
      RETURNING id`.execute(this.db);
    return result.rows.length === rows.length;
  }

  /**
   * Inserts the notification and its rows; with an idempotency key already held by another
   * notification of the account, inserts nothing and returns that one's id. The key's unique
   * index decides: ON CONFLICT DO NOTHING, then read the holder (on PostgreSQL a concurrent
   * insert of the same key waits for the first transaction and then sees its row).
   */
  private async insert(trx: Transaction<Database>, n: Notification, deliveries: readonly NewDelivery[]): Promise<string | undefined> {
    const idem = n.idempotency;
    if (idem) {
      // A key past its replay window is free again: take it off the old notification. (On
      // SQLite this write also takes the write lock before anything is read.)
      await trx
        .updateTable('notifier_notifications')
        .set({ idempotency_key: null })
        .where('account_id', '=', n.accountId)
        .where('idempotency_key', '=', idem.key)
        .where('idempotency_expires_at', '<=', n.createdAt)
        .execute();
    }
    const inserted = await trx
      .insertInto('notifier_notifications')
      .values(notificationRow(n))
      .onConflict((oc) => oc.columns(['account_id', 'idempotency_key']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) {
      if (!idem) throw new Error(`notification ${n.id} was not inserted`);
      const holder = await trx
        .selectFrom('notifier_notifications')
        .select('id')
        .where('account_id', '=', n.accountId)
        .where('idempotency_key', '=', idem.key)
        .executeTakeFirstOrThrow();
      return holder.id;
    }
    if (deliveries.length > 0) await trx.insertInto('notifier_deliveries').values(deliveries.map(deliveryRow)).execute();
    return undefined;
  }

  async findByIdempotencyKey(accountId: number, key: string, now: number): Promise<{ notification: Notification; deliveries: Delivery[] } | undefined> {
    const row = await this.db
      .selectFrom('notifier_notifications')
      .select('id')
      .where('account_id', '=', accountId)
      .where('idempotency_key', '=', key)
      .where('idempotency_expires_at', '>', now)
      .executeTakeFirst();
    return row ? this.findNotification(accountId, row.id) : undefined;
  }

  countSince(accountId: number, recipientId: string, category: string, since: number): Promise<number> {
    return this.countIn(this.db, accountId, recipientId, category, since);
  }

  private async countIn(db: Kysely<Database>, accountId: number, recipientId: string, category: string, since: number): Promise<number> {
    const row = await db
      .selectFrom('notifier_notifications as n')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('n.account_id', '=', accountId)
      .where('n.recipient_id', '=', recipientId)
      .where('n.category', '=', category)
      .where('n.created_at', '>=', since)
      .where((eb) =>
        eb.exists(eb.selectFrom('notifier_deliveries as d').select('d.id').whereRef('d.notification_id', '=', 'n.id').where('d.status', '!=', 'suppressed')),
      )
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async addDelivery(d: NewDelivery): Promise<void> {
    await this.db.insertInto('notifier_deliveries').values(deliveryRow(d)).onConflict((oc) => oc.column('id').doNothing()).execute();
  }

  /**
   * `log` with `entry` appended, as SQL: the log is a JSON array in a text column, appended in
   * the same statement as the transition (json_insert on SQLite, jsonb concatenation on
   * PostgreSQL), so every transition is ONE round trip.
   */
  private appended(entry: Expression<unknown> | LogEntry): RawBuilder<string> {
    const value = isExpression(entry) ? entry : sql`${JSON.stringify(entry)}`;
    return this.dialect === 'postgres'
      ? sql<string>`(log::jsonb || jsonb_build_array(${value}::jsonb))::text`
      : sql<string>`json_insert(log, '$[#]', json(${value}))`;
  }

  async claim(id: string, token: string, now: number, leaseMs: number): Promise<ClaimResult> {
    // One conditional UPDATE … RETURNING: on SQLite it takes the write lock at once (waiting out
    // busy_timeout), on PostgreSQL it row-locks and re-checks; the SET sees the old row, so a
    // claim of a row still `sending` (its claim lease lapsed) logs 'reclaimed'.
    const event = sql`CASE status WHEN 'sending' THEN 'reclaimed' ELSE 'claimed' END`;
    const detail = sql`'attempt ' || (attempts + 1)`;
    const entry =
      this.dialect === 'postgres'
        ? sql`jsonb_build_object('at', ${now}::bigint, 'event', ${event}, 'detail', ${detail})`
        : sql`json_object('at', ${now}, 'event', ${event}, 'detail', ${detail})`;
    const row = await this.db
      .updateTable('notifier_deliveries')
      .set((eb) => ({ log: this.appended(entry), status: 'sending', claim_token: token, claimed_at: now, attempts: eb('attempts', '+', 1), updated_at: now }))
      .where('id', '=', id)
      .where((eb) => eb.or([eb('status', '=', 'pending'), eb.and([eb('status', '=', 'sending'), eb('claimed_at', '<=', now - leaseMs)])]))
      .returningAll()
      .executeTakeFirst();
    if (row) return { kind: 'claimed', delivery: toDelivery(row) };
    const found = await this.db.selectFrom('notifier_deliveries').select('status').where('id', '=', id).executeTakeFirst();
    if (!found) return { kind: 'missing' };
    const status = found.status as DeliveryStatus;
    if (status === 'sent') return { kind: 'sent' };
    if (status === 'sending' || status === 'pending') return { kind: 'busy' };
    return { kind: 'final', status };
  }

  /** One conditional UPDATE … RETURNING: the transition and its log entry together. */
  private async transition(
    id: string,
    token: string | null,
    from: readonly DeliveryStatus[],
    set: Partial<Pick<Selectable<NotifierDeliveriesTable>, 'status' | 'provider_message_id' | 'last_error' | 'claim_token' | 'run_at'>>,
    entry: LogEntry,
  ): Promise<Delivery | undefined> {
    let u = this.db
      .updateTable('notifier_deliveries')
      .set({ ...set, updated_at: entry.at, log: this.appended(entry) })
      .where('id', '=', id)
      .where('status', 'in', [...from]);
    if (token !== null) u = u.where('claim_token', '=', token);
    const row = await u.returningAll().executeTakeFirst();
    return row ? toDelivery(row) : undefined;
  }

  async markSent(id: string, token: string, providerMessageId: string | null, now: number): Promise<boolean> {
    const done = await this.transition(id, token, ['sending'], { status: 'sent', provider_message_id: providerMessageId }, {
      at: now,
      event: 'sent',
      ...(providerMessageId ? { detail: `provider id ${providerMessageId}` } : {}),
    });
    return done !== undefined;
  }

  async release(id: string, token: string, to: 'pending' | 'failed' | 'dead', error: string, now: number): Promise<boolean> {
    const text = error.slice(0, MAX_ERROR);
    const event = to === 'pending' ? 'retry' : to;
    return (await this.transition(id, token, ['sending'], { status: to, last_error: text }, { at: now, event, detail: text })) !== undefined;
  }

  async revive(accountId: number, id: string, now: number): Promise<Delivery | undefined> {
    const row = await this.db.selectFrom('notifier_deliveries').select('account_id').where('id', '=', id).executeTakeFirst();
    if (!row || Number(row.account_id) !== accountId) return undefined;
    return this.transition(id, null, ['dead', 'failed'], { status: 'pending', claim_token: null, run_at: now }, { at: now, event: 'retried by API' });
  }

  async appendLog(id: string, entry: LogEntry): Promise<void> {
    await this.db.updateTable('notifier_deliveries').set({ log: this.appended(entry) }).where('id', '=', id).execute();
  }

  async findNotification(accountId: number, id: string): Promise<{ notification: Notification; deliveries: Delivery[] } | undefined> {
    const row = await this.db
      .selectFrom('notifier_notifications')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) return undefined;
    const rows = await this.db.selectFrom('notifier_deliveries').selectAll().where('notification_id', '=', id).orderBy('created_at').orderBy('id').execute();
    return { notification: toNotification(row), deliveries: rows.map(toDelivery) };
  }

  async findDelivery(id: string): Promise<Delivery | undefined> {
    const row = await this.db.selectFrom('notifier_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toDelivery(row) : undefined;
  }

  async notificationOf(d: Pick<Delivery, 'notificationId'>): Promise<Notification | undefined> {
    const row = await this.db.selectFrom('notifier_notifications').selectAll().where('id', '=', d.notificationId).executeTakeFirst();
    return row ? toNotification(row) : undefined;
  }

  async priorities(notificationIds: readonly string[]): Promise<Map<string, Priority>> {
    const out = new Map<string, Priority>();
    for (const part of chunks([...new Set(notificationIds)])) {
      const rows = await this.db.selectFrom('notifier_notifications').select(['id', 'priority']).where('id', 'in', part).execute();
      for (const r of rows) out.set(r.id, r.priority as Priority);
    }
    return out;
  }

  async listUnfinished(after: string | null, limit: number): Promise<Delivery[]> {
    let q = this.db.selectFrom('notifier_deliveries').selectAll().where('status', 'in', ['pending', 'sending']);
    if (after !== null) q = q.where('id', '>', after);
    return (await q.orderBy('id').limit(limit).execute()).map(toDelivery);
  }

  async listByStatus(accountId: number, status: DeliveryStatus, after: string | null, limit: number): Promise<Delivery[]> {
    let q = this.db.selectFrom('notifier_deliveries').selectAll().where('account_id', '=', accountId).where('status', '=', status);
    if (after !== null) q = q.where('id', '>', after);
    return (await q.orderBy('id').limit(limit).execute()).map(toDelivery);
  }

  async listNotifications(
    accountId: number,
    query: { recipientId?: string; status?: DeliveryStatus; after: string | null; limit: number },
  ): Promise<Notification[]> {
    let q = this.db.selectFrom('notifier_notifications as n').selectAll('n').where('n.account_id', '=', accountId);
    if (query.recipientId !== undefined) q = q.where('n.recipient_id', '=', query.recipientId);
    const status = query.status;
    if (status !== undefined) {
      q = q.where((eb) => eb.exists(eb.selectFrom('notifier_deliveries as d').select('d.id').whereRef('d.notification_id', '=', 'n.id').where('d.status', '=', status)));
    }
    if (query.after !== null) q = q.where('n.id', '<', query.after);
    return (await q.orderBy('n.id', 'desc').limit(query.limit).execute()).map(toNotification);
  }
}

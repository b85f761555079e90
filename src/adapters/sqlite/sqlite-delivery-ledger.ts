import type SqliteDatabase from 'better-sqlite3';
import type { Kysely, Selectable } from 'kysely';
import type { ClaimResult, CreateResult, DeliveryStatus, LogEntry, NewDelivery, Notification } from '../../notifier/notifications/ledger.js';
import { deliveryRow, KyselyDeliveryLedger, notificationRow, toDelivery } from '../sql/kysely-delivery-ledger.js';
import type { Database, NotifierDeliveriesTable } from '../sql/schema.js';
import type { GroupCommit } from './group-commit.js';

type Row = Selectable<NotifierDeliveriesTable>;

/** Longest error text kept on a row (as KyselyDeliveryLedger). */
const MAX_ERROR = 500;

/** Thrown inside the group's savepoint to roll back this create only. */
const CAPPED = Symbol('capped');

const DELIVERY_COLUMNS = [
  'id', 'notification_id', 'account_id', 'channel', 'status', 'reason', 'contact_id', 'message', 'run_at',
  'attempts', 'claim_token', 'claimed_at', 'provider_message_id', 'last_error', 'log', 'created_at', 'updated_at',
] as const;

/**
 * The delivery ledger on SQLite with its hot writes on prepared statements through the
 * connection's group commit, so the accepts, claims, marks and acks of one event-loop turn
 * share one commit with the queue's writes (a commit is ~20–75 µs; the statements are a few µs).
 * - create: the notification and its rows (and the frequency-cap re-count) in the group's
 *   savepoint for this call, so a capped create rolls back alone.
 * - claim, markSent, release: the conditional UPDATE, the log append
 *   (`json_insert(log, '$[#]', …)`) and the read-back (`RETURNING`) are one statement.
 * Same semantics as
 * KyselyDeliveryLedger (which it extends for everything else; the ledger contract suite runs
 * both): the WHERE clause is the state machine, so two workers holding the same job after a
 * lease takeover cannot both move a row.
 */
export class SqliteDeliveryLedger extends KyselyDeliveryLedger {
  private readonly claimStmt: SqliteDatabase.Statement<[{ id: string; token: string; now: number; leaseMs: number }], Row>;
  private readonly statusStmt: SqliteDatabase.Statement<[string], { status: string }>;
  private readonly sentStmt: SqliteDatabase.Statement<[{ id: string; token: string; now: number; providerId: string | null; entry: string }]>;
  private readonly releaseStmt: SqliteDatabase.Statement<[{ id: string; token: string; now: number; to: string; error: string; entry: string }]>;
  private readonly freeKeyStmt: SqliteDatabase.Statement<[number, string, number]>;
  private readonly insertNotificationStmt: SqliteDatabase.Statement<[Record<string, unknown>], { id: string }>;
  private readonly keyHolderStmt: SqliteDatabase.Statement<[number, string], { id: string }>;
  private readonly insertDeliveryStmt: SqliteDatabase.Statement<[Record<string, unknown>]>;
  private readonly countStmt: SqliteDatabase.Statement<[number, string, string, number], { n: number }>;

  constructor(
    db: Kysely<Database>,
    raw: SqliteDatabase.Database,
    private readonly writes: GroupCommit,
  ) {
    super(db, 'sqlite');
    // A key past its replay window is free again: taken off the old notification first.
    this.freeKeyStmt = raw.prepare(
      'UPDATE notifier_notifications SET idempotency_key = NULL WHERE account_id = ? AND idempotency_key = ? AND idempotency_expires_at <= ?',
    ) as never;
    this.insertNotificationStmt = raw.prepare(
      `INSERT INTO notifier_notifications (id, account_id, recipient_id, category, template, data, priority, send_at, created_at, idempotency_key, request_hash, idempotency_expires_at, channels)
       VALUES (@id, @account_id, @recipient_id, @category, @template, @data, @priority, @send_at, @created_at, @idempotency_key, @request_hash, @idempotency_expires_at, @channels)
       ON CONFLICT (account_id, idempotency_key) DO NOTHING RETURNING id`,
    ) as never;
    this.keyHolderStmt = raw.prepare('SELECT id FROM notifier_notifications WHERE account_id = ? AND idempotency_key = ?') as never;
    this.insertDeliveryStmt = raw.prepare(
      `INSERT INTO notifier_deliveries (${DELIVERY_COLUMNS.join(', ')}) VALUES (${DELIVERY_COLUMNS.map((c) => `@${c}`).join(', ')})`,
    ) as never;
    this.countStmt = raw.prepare(
      `SELECT count(*) AS n FROM notifier_notifications n
       WHERE n.account_id = ? AND n.recipient_id = ? AND n.category = ? AND n.created_at >= ?
         AND EXISTS (SELECT 1 FROM notifier_deliveries d WHERE d.notification_id = n.id AND d.status != 'suppressed')`,
    ) as never;
    // A claim of a row that is still `sending` (its claim lease lapsed) takes over a dead claim: 'reclaimed'.
    this.claimStmt = raw.prepare(
      `UPDATE notifier_deliveries SET
         log = json_insert(log, '$[#]', json_object('at', @now, 'event', CASE status WHEN 'sending' THEN 'reclaimed' ELSE 'claimed' END, 'detail', 'attempt ' || (attempts + 1))),
         status = 'sending', claim_token = @token, claimed_at = @now, attempts = attempts + 1, updated_at = @now
       WHERE id = @id AND (status = 'pending' OR (status = 'sending' AND claimed_at <= @now - @leaseMs))
       RETURNING *`,
    ) as never;
    this.statusStmt = raw.prepare('SELECT status FROM notifier_deliveries WHERE id = ?') as never;
    this.sentStmt = raw.prepare(
      `UPDATE notifier_deliveries SET status = 'sent', provider_message_id = @providerId, updated_at = @now, log = json_insert(log, '$[#]', json(@entry))
       WHERE id = @id AND status = 'sending' AND claim_token = @token`,
    ) as never;
    this.releaseStmt = raw.prepare(
      `UPDATE notifier_deliveries SET status = @to, last_error = @error, updated_at = @now, log = json_insert(log, '$[#]', json(@entry))
       WHERE id = @id AND status = 'sending' AND claim_token = @token`,
    ) as never;
  }

  override async create(n: Notification, deliveries: readonly NewDelivery[], cap?: { count: number; since: number }): Promise<CreateResult> {
    const idem = n.idempotency;
    const row = notificationRow(n);
    const rows = deliveries.map(deliveryRow);
    try {
      return await this.writes.run((): CreateResult => {
        if (idem) this.freeKeyStmt.run(n.accountId, idem.key, n.createdAt);
        if (!this.insertNotificationStmt.get(row)) {
          // The key's unique index: another notification of the account holds it.
          const holder = idem ? this.keyHolderStmt.get(n.accountId, idem.key) : undefined;
          if (!holder) throw new Error(`notification ${n.id} was not inserted`);
          return { kind: 'exists', notificationId: holder.id };
        }
        for (const d of rows) this.insertDeliveryStmt.run(d);
        // The write lock is held from the first statement: the count sees every committed send.
        if (cap && (this.countStmt.get(n.accountId, n.recipientId, n.category, cap.since)?.n ?? 0) > cap.count) throw CAPPED;
        return 'created';
      });
    } catch (err) {
      if (err === CAPPED) return 'capped';
      throw err;
    }
  }

  override claim(id: string, token: string, now: number, leaseMs: number): Promise<ClaimResult> {
    return this.writes.run((): ClaimResult => {
      const row = this.claimStmt.get({ id, token, now, leaseMs });
      if (row) return { kind: 'claimed', delivery: toDelivery(row) };
      const status = this.statusStmt.get(id)?.status as DeliveryStatus | undefined;
      if (status === undefined) return { kind: 'missing' };
      if (status === 'sent') return { kind: 'sent' };
      if (status === 'sending' || status === 'pending') return { kind: 'busy' };
      return { kind: 'final', status };
    });
  }

  override markSent(id: string, token: string, providerMessageId: string | null, now: number): Promise<boolean> {
    const entry: LogEntry = { at: now, event: 'sent', ...(providerMessageId ? { detail: `provider id ${providerMessageId}` } : {}) };
    const json = JSON.stringify(entry);
    return this.writes.run(() => this.sentStmt.run({ id, token, now, providerId: providerMessageId, entry: json }).changes === 1);
  }

  override release(id: string, token: string, to: 'pending' | 'failed' | 'dead', error: string, now: number): Promise<boolean> {
    const text = error.slice(0, MAX_ERROR);
    const json = JSON.stringify({ at: now, event: to === 'pending' ? 'retry' : to, detail: text } satisfies LogEntry);
    return this.writes.run(() => this.releaseStmt.run({ id, token, now, to, error: text, entry: json }).changes === 1);
  }
}

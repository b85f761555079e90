import type SqliteDatabase from 'better-sqlite3';
import type { Kysely, Selectable } from 'kysely';
import type { ClaimResult, DeliveryStatus, LogEntry } from '../../notifier/notifications/ledger.js';
import { KyselyDeliveryLedger, toDelivery } from '../sql/kysely-delivery-ledger.js';
import type { Database, NotifierDeliveriesTable } from '../sql/schema.js';
import type { GroupCommit } from './group-commit.js';

type Row = Selectable<NotifierDeliveriesTable>;

/** Longest error text kept on a row (as KyselyDeliveryLedger). */
const MAX_ERROR = 500;

/**
 * The delivery ledger on SQLite with the worker's three hot transitions (claim, markSent,
 * release) as single prepared statements: the conditional UPDATE, the log append
 * (`json_insert(log, '$[#]', …)`) and the read-back (`RETURNING`) are one statement, run
 * through the connection's group commit, so the claims, marks and acks of every worker in one
 * event-loop turn share one commit with the queue's writes. Same semantics as
 * KyselyDeliveryLedger (which it extends for everything else; the ledger contract suite runs
 * both): the WHERE clause is the state machine, so two workers holding the same job after a
 * lease takeover cannot both move a row.
 */
export class SqliteDeliveryLedger extends KyselyDeliveryLedger {
  private readonly claimStmt: SqliteDatabase.Statement<[{ id: string; token: string; now: number; leaseMs: number }], Row>;
  private readonly statusStmt: SqliteDatabase.Statement<[string], { status: string }>;
  private readonly sentStmt: SqliteDatabase.Statement<[{ id: string; token: string; now: number; providerId: string | null; entry: string }]>;
  private readonly releaseStmt: SqliteDatabase.Statement<[{ id: string; token: string; now: number; to: string; error: string; entry: string }]>;

  constructor(
    db: Kysely<Database>,
    raw: SqliteDatabase.Database,
    private readonly writes: GroupCommit,
  ) {
    super(db, 'sqlite');
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

import { sql, type Kysely } from 'kysely';
import type { Database } from '../sql/schema.js';
import { firstIdAbove, ID_STRIDE } from './shard-ids.js';

/**
 * Tables of per-recipient notifier rows with a numeric id (ADR 10). Their ids reach clients
 * (contact point ids in the recipients API, inbox message ids as SSE event ids) and delivery
 * rows (`contact_id`), so, like link ids, they are made unique across the shards.
 */
const TABLES = ['notifier_contact_points', 'notifier_inbox'] as const;
type Table = (typeof TABLES)[number];

/** Advisory lock serializing processes configuring a shard's notifier sequences (any bigint). */
const LOCK_KEY = '7461790008';

async function state(db: Kysely<Database>, table: Table): Promise<{ sequence: string; increment: number; highest: number }> {
  const seq = await sql<{ seq: string | null }>`select pg_get_serial_sequence(${table}, 'id') as seq`.execute(db);
  const sequence = seq.rows[0]?.seq;
  if (!sequence) throw new Error(`${table}.id has no sequence: is this database migrated by tny?`);
  const meta = await sql<{ increment: string | number }>`select seqincrement as increment from pg_sequence where seqrelid = ${sequence}::regclass`.execute(db);
  const last = await sql<{ last_value: string | number; is_called: boolean }>`select last_value, is_called from ${sql.raw(sequence)}`.execute(db);
  const max = await sql<{ m: string | number | null }>`select max(id) as m from ${sql.id(table)}`.execute(db);
  const lastRow = last.rows[0];
  const lastUsed = lastRow?.is_called ? Number(lastRow.last_value) : 0;
  return { sequence, increment: Number(meta.rows[0]?.increment ?? 1), highest: Math.max(lastUsed, Number(max.rows[0]?.m ?? 0)) };
}

/**
 * Each shard's contact point and inbox sequences step by ID_STRIDE from a start in the shard's
 * residue class (as link ids do, shard-ids.ts), above every id any shard held when configured:
 * an id then names one row across all shards. Ids still do not route (the recipient does).
 */
export async function interleaveNotifierIds(shards: readonly { index: number; db: Kysely<Database> }[]): Promise<void> {
  for (const table of TABLES) {
    const states = await Promise.all(shards.map((s) => state(s.db, table)));
    const floor = Math.max(0, ...states.map((s) => s.highest));
    for (const [i, shard] of shards.entries()) {
      if (states[i]!.increment === ID_STRIDE) continue;
      await shard.db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(${LOCK_KEY}::bigint)`.execute(trx);
        const now = await state(trx, table);
        if (now.increment === ID_STRIDE) return; // another process did it first
        const start = firstIdAbove(Math.max(floor, now.highest), shard.index);
        await sql`alter sequence ${sql.raw(now.sequence)} increment by ${sql.lit(ID_STRIDE)} restart with ${sql.lit(start)}`.execute(trx);
      });
    }
  }
}

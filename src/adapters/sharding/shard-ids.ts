import { sql, type Kysely } from 'kysely';
import type { Database } from '../sql/schema.js';
import { MAX_SHARDS } from './shard-urls.js';

/** Link ids step by this on every shard; shard `sN` takes the ids ≡ N + 1 (mod ID_STRIDE). */
export const ID_STRIDE = MAX_SHARDS;

/** Advisory lock (any bigint) that serializes processes configuring a shard's id sequence. */
const ID_LOCK_KEY = '7461790005';

interface SequenceState {
  sequence: string;
  increment: number;
  /** The highest id the shard has handed out or stores (0 when none). */
  highest: number;
}

async function sequenceState(db: Kysely<Database>): Promise<SequenceState> {
  const seq = await sql<{ seq: string | null }>`select pg_get_serial_sequence('short_urls', 'id') as seq`.execute(db);
  const sequence = seq.rows[0]?.seq;
  if (!sequence) throw new Error('short_urls.id has no sequence: is this database migrated by tny?');
  const meta = await sql<{ increment: string | number }>`
    select seqincrement as increment from pg_sequence where seqrelid = ${sequence}::regclass`.execute(db);
  const last = await sql<{ last_value: string | number; is_called: boolean }>`select last_value, is_called from ${sql.raw(sequence)}`.execute(db);
  const max = await db.selectFrom('short_urls').select((eb) => eb.fn.max('id').as('m')).executeTakeFirst();
  const lastRow = last.rows[0];
  const lastUsed = lastRow?.is_called ? Number(lastRow.last_value) : 0;
  return { sequence, increment: Number(meta.rows[0]?.increment ?? 1), highest: Math.max(lastUsed, Number(max?.m ?? 0)) };
}

/** The smallest id above `floor` in shard `index`'s residue class. */
export function firstIdAbove(floor: number, index: number): number {
  const residue = (index + 1) % ID_STRIDE;
  const next = floor + 1;
  return next + ((((residue - next) % ID_STRIDE) + ID_STRIDE) % ID_STRIDE);
}

/**
 * Makes link ids unique across the shards, so everything keyed by a link id in memory (the
 * click buffer, pending counts) and every id a client sees names one link. Each shard's
 * `short_urls` sequence steps by ID_STRIDE from a start in its own residue class, above every
 * id any shard had when it was configured; shards configured before keep their sequence. Ids
 * still do not route (the key does): they are only never reused.
 */
export async function interleaveLinkIds(shards: readonly { index: number; db: Kysely<Database> }[]): Promise<void> {
  const states = await Promise.all(shards.map((s) => sequenceState(s.db)));
  const floor = Math.max(0, ...states.map((s) => s.highest));
  for (const [i, shard] of shards.entries()) {
    if (states[i]!.increment === ID_STRIDE) continue;
    await shard.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${ID_LOCK_KEY}::bigint)`.execute(trx);
      const now = await sequenceState(trx);
      if (now.increment === ID_STRIDE) return; // another process did it first
      const start = firstIdAbove(Math.max(floor, now.highest), shard.index);
      await sql`alter sequence ${sql.raw(now.sequence)} increment by ${sql.lit(ID_STRIDE)} restart with ${sql.lit(start)}`.execute(trx);
    });
  }
}

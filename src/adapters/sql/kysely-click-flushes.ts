import type { Kysely } from 'kysely';
import type { ClickBatch } from '../../shortener/clicks.js';
import { writeClickBatch } from './kysely-click-repository.js';
import type { Database, SqlDialectName } from './schema.js';

/** Thrown inside the transaction to roll it back when the marker was already there. */
const ALREADY_APPLIED = Symbol('already applied');

/**
 * Where a Redis click flush lands (ADR 7): the flush's clicks and its marker row in ONE
 * transaction. The marker is inserted first, so a second application of the same flush —
 * a recovery racing the flusher that is still finishing it — waits on the marker's primary key
 * (PostgreSQL) or on the single writer (SQLite) and then finds it: nothing is written twice.
 */
export class KyselyClickFlushes {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialectName,
  ) {}

  /**
   * Applies the flush `id` once: true when this call wrote it, false when its marker was
   * already there (nothing written). `beforeCommit` runs inside the transaction (tests use it
   * to fail there); so does `onMissing`, with the ids of links this database does not hold
   * (a shard set forwards their clicks to the shard they moved to before this one commits).
   */
  async apply(
    id: string,
    batch: ClickBatch,
    now: number,
    beforeCommit?: () => Promise<void>,
    onMissing?: (ids: number[]) => Promise<void>,
  ): Promise<boolean> {
    try {
      await this.db.transaction().execute(async (trx) => {
        const marked = await trx
          .insertInto('click_flushes')
          .values({ id, applied_at: now })
          .onConflict((oc) => oc.column('id').doNothing())
          .returning('id')
          .executeTakeFirst();
        if (marked === undefined) throw ALREADY_APPLIED;
        const missing = await writeClickBatch(trx, this.dialect, batch);
        if (missing.length > 0) await onMissing?.(missing);
        await beforeCommit?.();
      });
      return true;
    } catch (err) {
      if (err === ALREADY_APPLIED) return false;
      throw err;
    }
  }

  async isApplied(id: string): Promise<boolean> {
    const row = await this.db.selectFrom('click_flushes').select('id').where('id', '=', id).executeTakeFirst();
    return row !== undefined;
  }

  /** Deletes markers applied before `before` (ms); returns how many. */
  async prune(before: number): Promise<number> {
    const result = await this.db.deleteFrom('click_flushes').where('applied_at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

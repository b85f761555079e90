import { sql } from 'kysely';
import type { IdSequence } from '../../shortener/ports.js';
import type { ShardSet } from './shard-set.js';
import { MAX_SHARDS } from './shard-urls.js';

/** Ids of one shard's slab: 2^20, more than the largest KEY_BLOCK_SIZE (1,000,000). */
export const DEFAULT_SLAB = 1 << 20;

/**
 * Id blocks leased per shard (the key generation service of §11.1 without a single sequence):
 * every shard keeps its own `sequences` row and leases from it atomically, and the id space is
 * cut into slabs dealt to the shards in turn — global slab g belongs to shard g mod 256 — so
 * ids of different shards never collide and no lease talks to more than one shard. A shard's
 * local counter runs 1, 2, 3…; a lease never straddles a slab (it skips to the next one when
 * the rest of the slab is too small), and local slab k of shard i is global slab k·256 + i.
 *
 * Leases go to the shards in turn (from a random start, so processes spread); a shard that
 * fails is skipped for that lease, so counter keys keep coming while one shard is down.
 */
export class ShardedIdSequence implements IdSequence {
  private turn: number;
  /** Per sequence name: where a shard's local counter starts (see firstLocalValue). */
  private readonly starts = new Map<string, Promise<number>>();

  constructor(
    private readonly set: ShardSet,
    private readonly slab = DEFAULT_SLAB,
  ) {
    if (!Number.isSafeInteger(slab) || slab < 1) throw new RangeError(`slab must be a positive integer, got ${slab}`);
    this.turn = Math.floor(Math.random() * set.size);
  }

  async lease(name: string, size: number): Promise<{ start: number; end: number }> {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`lease size must be a positive integer, got ${size}`);
    if (size > this.slab) throw new RangeError(`lease size ${size} is larger than a shard's slab (${this.slab})`);
    let firstError: unknown;
    const first = this.turn++;
    for (let tries = 0; tries < this.set.size; tries++) {
      const index = (first + tries) % this.set.size;
      try {
        return await this.leaseOn(index, name, size);
      } catch (error) {
        firstError ??= error;
      }
    }
    throw firstError;
  }

  /**
   * A shard's local counter starts in the first slab round whose ids are all above any id the
   * unsharded sequence (`name` without suffix, e.g. left by a single DATABASE_URL that became
   * s0) handed out, so keys made before sharding are never made again. Every process computes
   * the same value, and the first insert of a shard's row wins anyway.
   */
  private async firstLocalValue(name: string): Promise<number> {
    const rows = await Promise.all(
      this.set.shards.map((s) => s.database.db.selectFrom('sequences').select('next_value').where('name', '=', name).executeTakeFirst()),
    );
    const issued = Math.max(0, ...rows.map((r) => (r ? Number(r.next_value) - 1 : 0)));
    return Math.ceil(issued / (MAX_SHARDS * this.slab)) * this.slab + 1;
  }

  /**
   * One atomic statement on shard `index` (two more the first time a shard leases `name`: its
   * row is created at firstLocalValue); returns the global range.
   */
  async leaseOn(index: number, name: string, size: number): Promise<{ start: number; end: number }> {
    const db = this.set.shards[index]!.database.db;
    const row = `${name}@shard`;
    const slab = sql.lit(this.slab);
    const take = () =>
      db
        .updateTable('sequences')
        .set({
          next_value: sql<number>`case when (next_value - 1) % ${slab} + ${size} > ${slab}
            then ((next_value - 1) / ${slab} + 1) * ${slab} + 1 + ${size}
            else next_value + ${size} end`,
        })
        .where('name', '=', row)
        .returning('next_value')
        .executeTakeFirst();
    let result = await take();
    if (!result) {
      let first = this.starts.get(name);
      if (!first) this.starts.set(name, (first = this.firstLocalValue(name)));
      first.catch(() => this.starts.delete(name)); // a failed read is tried again next time
      await db
        .insertInto('sequences')
        .values({ name: row, next_value: await first })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      result = await take();
      if (!result) throw new Error(`sequence row ${row} vanished on shard ${this.set.shards[index]!.name}`);
    }
    const localStart = Number(result.next_value) - size;
    const localSlab = Math.floor((localStart - 1) / this.slab);
    const offset = (localStart - 1) % this.slab;
    const start = (localSlab * MAX_SHARDS + index) * this.slab + offset + 1;
    return { start, end: start + size };
  }
}

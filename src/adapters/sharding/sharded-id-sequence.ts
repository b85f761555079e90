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

  /** One atomic statement on shard `index`; returns the global range. */
  async leaseOn(index: number, name: string, size: number): Promise<{ start: number; end: number }> {
    const db = this.set.shards[index]!.database.db;
    const row = `${name}@shard`;
    await db
      .insertInto('sequences')
      .values({ name: row, next_value: 1 })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const slab = sql.lit(this.slab);
    const result = await db
      .updateTable('sequences')
      .set({
        next_value: sql<number>`case when (next_value - 1) % ${slab} + ${size} > ${slab}
          then ((next_value - 1) / ${slab} + 1) * ${slab} + 1 + ${size}
          else next_value + ${size} end`,
      })
      .where('name', '=', row)
      .returning('next_value')
      .executeTakeFirstOrThrow();
    const localStart = Number(result.next_value) - size;
    const localSlab = Math.floor((localStart - 1) / this.slab);
    const offset = (localStart - 1) % this.slab;
    const start = (localSlab * MAX_SHARDS + index) * this.slab + offset + 1;
    return { start, end: start + size };
  }
}

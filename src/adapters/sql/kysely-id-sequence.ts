import type { Kysely } from 'kysely';
import type { IdSequence } from '../../shortener/ports.js';
import type { Database } from './schema.js';

/**
 * Blocks of ids leased from the `sequences` table. Each statement is atomic on its own, so
 * concurrent leases from any number of processes get disjoint ranges without a transaction.
 */
export class KyselyIdSequence implements IdSequence {
  constructor(private readonly db: Kysely<Database>) {}

  async lease(name: string, size: number): Promise<{ start: number; end: number }> {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`lease size must be a positive integer, got ${size}`);
    await this.db
      .insertInto('sequences')
      .values({ name, next_value: 1 })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const row = await this.db
      .updateTable('sequences')
      .set((eb) => ({ next_value: eb('next_value', '+', size) }))
      .where('name', '=', name)
      .returning('next_value')
      .executeTakeFirstOrThrow();
    const end = Number(row.next_value);
    return { start: end - size, end };
  }
}

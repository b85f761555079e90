import type { Kysely } from 'kysely';
import type { IdempotencyBegin, IdempotencyStore } from '../../platform/idempotency/ports.js';
import type { Database } from './schema.js';

/** Rounds of insert-or-inspect before giving up (a reservation abandoned between our two steps). */
const MAX_ATTEMPTS = 5;

/**
 * `Idempotency-Key` reservations. `begin` never reads-then-writes: it deletes an expired entry,
 * then inserts with ON CONFLICT DO NOTHING, so of any number of racing callers exactly one
 * inserts the row and gets `new`; the others inspect what that one stored.
 */
export class KyselyIdempotencyStore implements IdempotencyStore {
  constructor(private readonly db: Kysely<Database>) {}

  async begin(scope: string, key: string, requestHash: string, now: number, ttlMs: number): Promise<IdempotencyBegin> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      await this.db
        .deleteFrom('idempotency_keys')
        .where('scope', '=', scope)
        .where('key', '=', key)
        .where('expires_at', '<=', now)
        .execute();
      const inserted = await this.db
        .insertInto('idempotency_keys')
        .values({
          scope,
          key,
          request_hash: requestHash,
          status_code: null,
          response: null,
          created_at: now,
          expires_at: now + ttlMs,
        })
        .onConflict((oc) => oc.columns(['scope', 'key']).doNothing())
        .returning('scope')
        .executeTakeFirst();
      if (inserted) return { state: 'new' };

      const row = await this.db
        .selectFrom('idempotency_keys')
        .select(['request_hash', 'status_code', 'response', 'expires_at'])
        .where('scope', '=', scope)
        .where('key', '=', key)
        .executeTakeFirst();
      if (!row || Number(row.expires_at) <= now) continue;
      const sameRequest = row.request_hash === requestHash;
      if (row.status_code === null || row.response === null) return { state: 'pending', sameRequest };
      return { state: 'done', sameRequest, statusCode: Number(row.status_code), response: row.response };
    }
    throw new Error(`idempotency key ${scope}/${key} kept changing under concurrent requests`);
  }

  async complete(scope: string, key: string, statusCode: number, response: string): Promise<void> {
    await this.db
      .updateTable('idempotency_keys')
      .set({ status_code: statusCode, response })
      .where('scope', '=', scope)
      .where('key', '=', key)
      .execute();
  }

  /** Only a pending reservation is dropped; a completed answer stays replayable. */
  async abandon(scope: string, key: string): Promise<void> {
    await this.db
      .deleteFrom('idempotency_keys')
      .where('scope', '=', scope)
      .where('key', '=', key)
      .where('status_code', 'is', null)
      .execute();
  }

  async purgeExpired(now: number): Promise<number> {
    const result = await this.db.deleteFrom('idempotency_keys').where('expires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

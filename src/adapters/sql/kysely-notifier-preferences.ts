import type { Kysely } from 'kysely';
import type { PreferenceRepository } from '../../notifier/ports.js';
import type { Preferences } from '../../notifier/preferences.js';
import { isMissingRecipient } from './kysely-inbox.js';
import type { Database } from './schema.js';

/**
 * Preferences as one JSON document per recipient: the send decision always reads all of them,
 * and a PUT replaces all of them, so columns per category × channel would only add joins.
 */
export class KyselyNotifierPreferences implements PreferenceRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async get(accountId: number, recipientId: string): Promise<Preferences | undefined> {
    const row = await this.db
      .selectFrom('notifier_preferences')
      .select('body')
      .where('account_id', '=', accountId)
      .where('recipient_id', '=', recipientId)
      .executeTakeFirst();
    return row && (JSON.parse(row.body) as Preferences);
  }

  /**
   * An upsert behind a check that the recipient exists, in one transaction. The check does not
   * lock: a recipient deleted (or moved to another shard, ADR 10) after it fails the upsert's
   * foreign key instead, which means the same thing.
   */
  async put(accountId: number, recipientId: string, preferences: Preferences, now: number): Promise<boolean> {
    const body = JSON.stringify(preferences);
    return this.upsert(accountId, recipientId, body, now).catch((err: unknown) => {
      if (isMissingRecipient(err)) return false;
      throw err;
    });
  }

  private upsert(accountId: number, recipientId: string, body: string, now: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const owner = await trx
        .selectFrom('notifier_recipients')
        .select('id')
        .where('account_id', '=', accountId)
        .where('id', '=', recipientId)
        .executeTakeFirst();
      if (!owner) return false;
      await trx
        .insertInto('notifier_preferences')
        .values({ account_id: accountId, recipient_id: recipientId, body, updated_at: now })
        .onConflict((oc) => oc.columns(['account_id', 'recipient_id']).doUpdateSet({ body, updated_at: now }))
        .execute();
      return true;
    });
  }
}

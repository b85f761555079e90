import type { Kysely } from 'kysely';
import type { AccountLinks } from '../../shortener/import-staging.js';
import type { AccountRecords, NotifierAccountData } from '../../shortener/use-cases/delete-account.js';
import type { Database } from './schema.js';
import { chunks } from './sql-helpers.js';

/** The account's own rows on the home database: keys, idempotency keys, the account itself. */
export class KyselyAccountRecords implements AccountRecords {
  constructor(private readonly db: Kysely<Database>) {}

  async revokeKeys(accountId: number, stamp: number): Promise<number> {
    const r = await this.db.updateTable('api_keys').set({ revoked_at: stamp }).where('account_id', '=', accountId).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Only the keys revoked with `stamp` (by the deletion run), not ones revoked before it. */
  async restoreKeys(accountId: number, stamp: number): Promise<number> {
    const r = await this.db.updateTable('api_keys').set({ revoked_at: null }).where('account_id', '=', accountId).where('revoked_at', '=', stamp).executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async deleteIdempotencyKeys(accountId: number): Promise<number> {
    // The HTTP layer scopes keys of authenticated requests as `account:<id>` (hooks/idempotency.ts).
    const r = await this.db.deleteFrom('idempotency_keys').where('scope', '=', `account:${accountId}`).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async exists(accountId: number): Promise<boolean> {
    return (await this.db.selectFrom('accounts').select('id').where('id', '=', accountId).executeTakeFirst()) !== undefined;
  }

  async deleteAccount(accountId: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('api_keys').where('account_id', '=', accountId).execute();
      await trx.deleteFrom('accounts').where('id', '=', accountId).execute();
    });
  }
}

/** An account's links on one database (a shard, or the only one), a batch at a time. */
export class KyselyAccountLinks implements AccountLinks {
  constructor(private readonly db: Kysely<Database>) {}

  async deleteSome(accountId: number, limit: number): Promise<string[]> {
    const rows = await this.db.selectFrom('short_urls').select(['id', 'short_key']).where('account_id', '=', accountId).orderBy('id').limit(limit).execute();
    // Tags and click rollups go with each link (ON DELETE CASCADE).
    for (const part of chunks(rows.map((r) => Number(r.id)))) await this.db.deleteFrom('short_urls').where('id', 'in', part).execute();
    return rows.map((r) => r.short_key);
  }
}

/**
 * Everything the notifier keeps for an account, where it is on main today: every notifier table
 * on the home database, children first, in one transaction. The one place to re-point when
 * notifier data moves to shards by recipient.
 */
export class KyselyNotifierAccountData implements NotifierAccountData {
  constructor(private readonly db: Kysely<Database>) {}

  async deleteAccountData(accountId: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const table of [
        'notifier_inbox',
        'notifier_deliveries',
        'notifier_notifications',
        'notifier_preferences',
        'notifier_contact_points',
        'notifier_recipients',
        'notifier_categories',
        'notifier_templates',
      ] as const) {
        await trx.deleteFrom(table).where('account_id', '=', accountId).execute();
      }
    });
  }
}

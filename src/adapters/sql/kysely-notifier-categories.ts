import type { Kysely, Selectable } from 'kysely';
import type { Category, CategoryFields } from '../../notifier/category.js';
import type { ChannelName } from '../../notifier/channel-names.js';
import type { CategoryRepository } from '../../notifier/ports.js';
import type { Database, NotifierCategoriesTable, SqlDialectName } from './schema.js';
import { binaryText } from './sql-helpers.js';

function toCategory(row: Selectable<NotifierCategoriesTable>): Category {
  return {
    accountId: Number(row.account_id),
    name: row.name,
    description: row.description,
    defaultChannels: JSON.parse(row.default_channels) as ChannelName[],
    fallback: JSON.parse(row.fallback) as ChannelName[],
    critical: Number(row.critical) === 1,
    frequencyCap: row.cap_count === null || row.cap_window_ms === null ? null : { count: Number(row.cap_count), windowMs: Number(row.cap_window_ms) },
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function columns(f: CategoryFields) {
  return {
    description: f.description,
    default_channels: JSON.stringify(f.defaultChannels),
    fallback: JSON.stringify(f.fallback),
    critical: f.critical ? 1 : 0,
    cap_count: f.frequencyCap?.count ?? null,
    cap_window_ms: f.frequencyCap?.windowMs ?? null,
  };
}

/** Categories in `notifier_categories`, keyed (account_id, name). */
export class KyselyNotifierCategories implements CategoryRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialectName,
  ) {}

  async insert(accountId: number, name: string, fields: CategoryFields, now: number): Promise<Category | 'conflict'> {
    const row = await this.db
      .insertInto('notifier_categories')
      .values({ account_id: accountId, name, ...columns(fields), created_at: now, updated_at: now })
      .onConflict((oc) => oc.columns(['account_id', 'name']).doNothing())
      .returningAll()
      .executeTakeFirst();
    return row ? toCategory(row) : 'conflict';
  }

  async find(accountId: number, name: string): Promise<Category | undefined> {
    const row = await this.db.selectFrom('notifier_categories').selectAll().where('account_id', '=', accountId).where('name', '=', name).executeTakeFirst();
    return row && toCategory(row);
  }

  async update(accountId: number, name: string, fields: CategoryFields, now: number): Promise<Category | undefined> {
    const row = await this.db
      .updateTable('notifier_categories')
      .set({ ...columns(fields), updated_at: now })
      .where('account_id', '=', accountId)
      .where('name', '=', name)
      .returningAll()
      .executeTakeFirst();
    return row && toCategory(row);
  }

  async delete(accountId: number, name: string): Promise<boolean> {
    const result = await this.db.deleteFrom('notifier_categories').where('account_id', '=', accountId).where('name', '=', name).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async list(accountId: number, after: string | null, limit: number): Promise<Category[]> {
    const name = binaryText(this.dialect, 'name');
    let q = this.db.selectFrom('notifier_categories').selectAll().where('account_id', '=', accountId);
    if (after !== null) q = q.where(name, '>', after);
    return (await q.orderBy(name).limit(limit).execute()).map(toCategory);
  }
}

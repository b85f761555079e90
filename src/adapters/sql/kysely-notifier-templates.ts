import type { Kysely, Selectable } from 'kysely';
import type { ChannelName } from '../../notifier/channel-names.js';
import type { TemplateRepository } from '../../notifier/ports.js';
import type { Template, TemplateId, TemplateParts } from '../../notifier/templates/template.js';
import type { Database, NotifierTemplatesTable, SqlDialectName } from './schema.js';
import { binaryText } from './sql-helpers.js';

function toTemplate(row: Selectable<NotifierTemplatesTable>): Template {
  return {
    accountId: Number(row.account_id),
    name: row.name,
    channel: row.channel as ChannelName,
    locale: row.locale,
    subject: row.subject,
    body: row.body,
    html: row.html,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** Templates in `notifier_templates`, keyed (account_id, name, channel, locale). */
export class KyselyNotifierTemplates implements TemplateRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialectName,
  ) {}

  /**
   * Insert-or-nothing, then update: the first statement says exactly whether this call created
   * the variant. A concurrent delete between the two makes the update miss; then it inserts again.
   */
  async put(accountId: number, id: TemplateId, parts: TemplateParts, now: number): Promise<{ template: Template; created: boolean }> {
    const values = { subject: parts.subject, body: parts.body, html: parts.html, updated_at: now };
    for (;;) {
      const inserted = await this.db
        .insertInto('notifier_templates')
        .values({ account_id: accountId, ...id, ...values, created_at: now })
        .onConflict((oc) => oc.columns(['account_id', 'name', 'channel', 'locale']).doNothing())
        .returningAll()
        .executeTakeFirst();
      if (inserted) return { template: toTemplate(inserted), created: true };
      const updated = await this.db
        .updateTable('notifier_templates')
        .set(values)
        .where('account_id', '=', accountId)
        .where('name', '=', id.name)
        .where('channel', '=', id.channel)
        .where('locale', '=', id.locale)
        .returningAll()
        .executeTakeFirst();
      if (updated) return { template: toTemplate(updated), created: false };
    }
  }

  async find(accountId: number, id: TemplateId): Promise<Template | undefined> {
    const row = await this.db
      .selectFrom('notifier_templates')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('name', '=', id.name)
      .where('channel', '=', id.channel)
      .where('locale', '=', id.locale)
      .executeTakeFirst();
    return row && toTemplate(row);
  }

  /** One query for the whole fallback chain; the chain's order picks the winner. */
  async findBest(accountId: number, name: string, channel: ChannelName, locales: readonly string[]): Promise<Template | undefined> {
    if (locales.length === 0) return undefined;
    const rows = await this.db
      .selectFrom('notifier_templates')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('name', '=', name)
      .where('channel', '=', channel)
      .where('locale', 'in', [...locales])
      .execute();
    const byLocale = new Map(rows.map((r) => [r.locale, r]));
    for (const locale of locales) {
      const row = byLocale.get(locale);
      if (row) return toTemplate(row);
    }
    return undefined;
  }

  async delete(accountId: number, id: TemplateId): Promise<boolean> {
    const result = await this.db
      .deleteFrom('notifier_templates')
      .where('account_id', '=', accountId)
      .where('name', '=', id.name)
      .where('channel', '=', id.channel)
      .where('locale', '=', id.locale)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Keyset over (name, channel, locale), all byte-wise: `(n > a) or (n = a and (c > b or (c = b and l > c)))`. */
  async list(accountId: number, query: { name?: string; after: TemplateId | null; limit: number }): Promise<Template[]> {
    const [n, c, l] = (['name', 'channel', 'locale'] as const).map((col) => binaryText(this.dialect, col));
    let q = this.db.selectFrom('notifier_templates').selectAll().where('account_id', '=', accountId);
    if (query.name !== undefined) q = q.where('name', '=', query.name);
    const after = query.after;
    if (after) {
      q = q.where(n!, '>=', after.name).where((eb) =>
        eb.or([
          eb(n!, '>', after.name),
          eb.and([eb(n!, '=', after.name), eb.or([eb(c!, '>', after.channel), eb.and([eb(c!, '=', after.channel), eb(l!, '>', after.locale)])])]),
        ]),
      );
    }
    return (await q.orderBy(n!).orderBy(c!).orderBy(l!).limit(query.limit).execute()).map(toTemplate);
  }
}

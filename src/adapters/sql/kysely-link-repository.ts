import type { Kysely, Updateable } from 'kysely';
import type { Link, LinkChanges, LinkListQuery, LinkPage, NewLink } from '../../shortener/link.js';
import type { LinkRepository } from '../../shortener/ports.js';
import { listLinks } from './kysely-link-list.js';
import { insertTags, loadTags, normalizeTags, toLink, toRow, type ShortUrlRow } from './link-rows.js';
import type { Database, ShortUrlsTable, SqlDialectName } from './schema.js';
import { chunks, compareText } from './sql-helpers.js';

/** Links in `short_urls` with their tags in `link_tags`; one implementation for both engines. */
export class KyselyLinkRepository implements LinkRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialectName,
  ) {}

  async insert(link: NewLink): Promise<Link | 'conflict'> {
    const [result] = await this.insertMany([link]);
    return result ?? 'conflict';
  }

  /**
   * `ON CONFLICT (short_key) DO NOTHING RETURNING`: a taken key yields no row (and no error that
   * would abort the transaction). A key repeated within the batch is inserted once; its later
   * occurrences are conflicts. Keys go in sorted order so concurrent batches cannot deadlock.
   */
  async insertMany(links: NewLink[]): Promise<(Link | 'conflict')[]> {
    if (links.length === 0) return [];
    const firsts = new Map<string, NewLink>();
    for (const link of links) if (!firsts.has(link.key)) firsts.set(link.key, link);
    const ordered = [...firsts.values()].sort((a, b) => compareText(a.key, b.key));

    const inserted = await this.db.transaction().execute(async (trx) => {
      const byKey = new Map<string, ShortUrlRow>();
      for (const part of chunks(ordered)) {
        const rows = await trx
          .insertInto('short_urls')
          .values(part.map(toRow))
          .onConflict((oc) => oc.column('short_key').doNothing())
          .returningAll()
          .execute();
        for (const row of rows) byKey.set(row.short_key, row);
      }
      const tagged = ordered.flatMap((l) => {
        const row = byKey.get(l.key);
        return row ? [{ linkId: Number(row.id), tags: l.tags }] : [];
      });
      await insertTags(trx, tagged);
      return byKey;
    });

    const handed = new Set<string>();
    return links.map((link) => {
      const row = inserted.get(link.key);
      if (!row || handed.has(link.key)) return 'conflict';
      handed.add(link.key);
      return toLink(row, link.tags);
    });
  }

  async findByKey(key: string): Promise<Link | undefined> {
    const row = await this.db.selectFrom('short_urls').selectAll().where('short_key', '=', key).executeTakeFirst();
    if (!row) return undefined;
    const tags = await loadTags(this.db, [Number(row.id)]);
    return toLink(row, tags.get(Number(row.id)) ?? []);
  }

  async update(key: string, changes: LinkChanges): Promise<Link | undefined> {
    const set: Updateable<ShortUrlsTable> = { updated_at: changes.updatedAt };
    if (changes.url !== undefined) set.original_url = changes.url;
    if (changes.expiresAt !== undefined) set.expires_at = changes.expiresAt;
    if (changes.maxClicks !== undefined) set.max_clicks = changes.maxClicks;
    if (changes.redirectStatus !== undefined) set.redirect_status = changes.redirectStatus;
    if (changes.passwordHash !== undefined) set.password_hash = changes.passwordHash;
    if (changes.forwardQuery !== undefined) set.forward_query = changes.forwardQuery ? 1 : 0;
    if (changes.disabled !== undefined) set.disabled = changes.disabled ? 1 : 0;
    const newTags = changes.tags;

    return this.db.transaction().execute(async (trx) => {
      const row = await trx.updateTable('short_urls').set(set).where('short_key', '=', key).returningAll().executeTakeFirst();
      if (!row) return undefined;
      const id = Number(row.id);
      if (newTags !== undefined) {
        await trx.deleteFrom('link_tags').where('link_id', '=', id).execute();
        await insertTags(trx, [{ linkId: id, tags: newTags }]);
        return toLink(row, normalizeTags(newTags));
      }
      const tags = await loadTags(trx, [id]);
      return toLink(row, tags.get(id) ?? []);
    });
  }

  /** Tags and click rollups go with the link (ON DELETE CASCADE). */
  async delete(key: string): Promise<boolean> {
    const result = await this.db.deleteFrom('short_urls').where('short_key', '=', key).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  list(query: LinkListQuery): Promise<LinkPage> {
    return listLinks(this.db, this.dialect, query);
  }

  /**
   * Keyset pages over the unique index of short_key, in the column's own collation (so the
   * index serves both the `>` and the ORDER BY; the order differs between engines, which is
   * fine: pages are only chained within one).
   */
  async listKeys(afterKey: string | null, limit: number): Promise<string[]> {
    let query = this.db.selectFrom('short_urls').select('short_key').orderBy('short_key').limit(limit);
    if (afterKey !== null) query = query.where('short_key', '>', afterKey);
    return (await query.execute()).map((r) => r.short_key);
  }

  /** One conditional UPDATE: the check and the increment cannot be split by another click. */
  async consumeLimitedClick(link: Pick<Link, 'id' | 'key'>): Promise<boolean> {
    const result = await this.db
      .updateTable('short_urls')
      .set((eb) => ({ click_count: eb('click_count', '+', 1) }))
      .where('id', '=', link.id)
      .where('max_clicks', 'is not', null)
      .whereRef('click_count', '<', 'max_clicks')
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }
}

import { sql, type Kysely, type SqlBool } from 'kysely';
import type { LinkCursor, LinkListQuery, LinkPage } from '../../shortener/link.js';
import { loadTags, toLink } from './link-rows.js';
import type { Database, SqlDialectName } from './schema.js';
import { binaryText, likeContains } from './sql-helpers.js';

/**
 * One page of links in keyset order: (sort column, short_key), both in the requested
 * direction, so ties in the sort value are broken by the unique key and every link appears
 * exactly once across pages. The query's `sort`/`order` win over the cursor's.
 */
export async function listLinks(db: Kysely<Database>, dialect: SqlDialectName, query: LinkListQuery): Promise<LinkPage> {
  if (!Number.isInteger(query.limit) || query.limit < 1) throw new RangeError(`list limit must be a positive integer, got ${query.limit}`);
  const column = query.sort === 'clicks' ? 'click_count' : 'created_at';
  const order = query.order;
  const key = binaryText(dialect, 'short_key');

  let q = db.selectFrom('short_urls').selectAll('short_urls');
  if (query.accountId !== undefined) q = q.where('account_id', '=', query.accountId);
  const tag = query.tag;
  if (tag !== undefined) {
    q = q.where((eb) =>
      eb.exists(
        eb
          .selectFrom('link_tags')
          .select(sql.lit(1).as('one'))
          .whereRef('link_tags.link_id', '=', 'short_urls.id')
          .where('link_tags.tag', '=', tag),
      ),
    );
  }
  if (query.text) {
    const pattern = likeContains(query.text);
    q = q.where((eb) =>
      eb.or([
        sql<SqlBool>`lower(${sql.ref('original_url')}) like lower(${pattern}) escape '!'`,
        sql<SqlBool>`lower(${sql.ref('short_key')}) like lower(${pattern}) escape '!'`,
      ]),
    );
  }
  if (query.createdFrom !== undefined) q = q.where('created_at', '>=', query.createdFrom);
  if (query.createdTo !== undefined) q = q.where('created_at', '<', query.createdTo);
  const after = query.after;
  if (after) {
    const strict = order === 'asc' ? '>' : '<';
    // `col >= v AND (col > v OR key > k)`: the first term bounds an index range scan.
    q = q
      .where(column, order === 'asc' ? '>=' : '<=', after.value)
      .where((eb) => eb.or([eb(column, strict, after.value), eb(key, strict, after.key)]));
  }

  const rows = await q.orderBy(column, order).orderBy(key, order).limit(query.limit + 1).execute();
  const page = rows.slice(0, query.limit);
  const tags = await loadTags(db, page.map((r) => Number(r.id)));
  const items = page.map((r) => toLink(r, tags.get(Number(r.id)) ?? []));
  const last = items[items.length - 1];
  const next: LinkCursor | null =
    rows.length > query.limit && last
      ? { sort: query.sort, order, value: query.sort === 'clicks' ? last.clickCount : last.createdAt, key: last.key }
      : null;
  return { items, next };
}

import type { Link, LinkCursor, LinkListQuery, LinkPage } from '../../shortener/link.js';
import { compareText } from '../sql/sql-helpers.js';

/** The sort value a page is ordered by. */
function sortValue(query: Pick<LinkListQuery, 'sort'>, link: Link): number {
  return query.sort === 'clicks' ? link.clickCount : link.createdAt;
}

/**
 * The global order of a list: (sort value, key) with the key in byte order, both in the
 * requested direction — exactly the order each shard's query uses (kysely-link-list.ts).
 */
export function linkOrder(query: Pick<LinkListQuery, 'sort' | 'order'>): (a: Link, b: Link) => number {
  const sign = query.order === 'asc' ? 1 : -1;
  return (a, b) => sign * (sortValue(query, a) - sortValue(query, b) || compareText(a.key, b.key));
}

/**
 * One page of the global order from every shard's page of the same query (same cursor, same
 * limit). Each shard returned its first `limit` items after the cursor, so the global first
 * `limit` after the cursor are among them (any item further down a shard's list has `limit`
 * items of that shard before it). There are more when more than `limit` came back in total or
 * some shard said it had more; the cursor is the sort key of the last item taken.
 */
export function mergePages(query: LinkListQuery, pages: readonly LinkPage[]): LinkPage {
  const all = pages.flatMap((p) => p.items).sort(linkOrder(query));
  const items = all.slice(0, query.limit);
  const more = all.length > query.limit || pages.some((p) => p.next !== null);
  const last = items.at(-1);
  const next: LinkCursor | null =
    more && last ? { sort: query.sort, order: query.order, value: sortValue(query, last), key: last.key } : null;
  return { items, next };
}

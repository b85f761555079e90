import type { ShortenerContext } from '../context.js';
import type { Link, LinkCursor } from '../link.js';

export const EXPORT_PAGE_SIZE = 500;

/**
 * Every link (of one account, or of all), oldest first, a page at a time through the
 * repository's keyset cursor: memory stays flat however many links there are. Expired and
 * disabled links are included.
 */
export async function* exportLinks(
  ctx: ShortenerContext,
  opts: { accountId?: number; pageSize?: number } = {},
): AsyncGenerator<Link[]> {
  let after: LinkCursor | null = null;
  do {
    const page = await ctx.links.list({
      accountId: opts.accountId,
      sort: 'created_at',
      order: 'asc',
      limit: opts.pageSize ?? EXPORT_PAGE_SIZE,
      ...(after ? { after } : {}),
    });
    if (page.items.length > 0) yield page.items;
    after = page.next;
  } while (after);
}

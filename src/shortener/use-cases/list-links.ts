import type { Actor } from '../../platform/auth/actor.js';
import { validationError, type FieldError } from '../../platform/errors.js';
import type { ShortenerContext } from '../context.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import type { Link, LinkSort, SortOrder } from '../link.js';
import { withPendingClicks } from './get-link.js';

export const LIST_LIMIT_MAX = 100;
export const LIST_LIMIT_DEFAULT = 20;

export interface ListLinksInput {
  limit?: number;
  cursor?: string;
  tag?: string;
  q?: string;
  createdAfter?: string;
  createdBefore?: string;
  sort?: LinkSort;
  order?: SortOrder;
}

export interface ListLinksResult {
  items: Link[];
  nextCursor: string | null;
  limit: number;
}

function parseTime(field: string, text: string | undefined, problems: FieldError[]): number | undefined {
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  if (Number.isNaN(t)) problems.push({ field, message: 'must be an ISO 8601 date or date-time' });
  return t;
}

/** One page of the actor's links (every account's for an admin), newest first by default. */
export async function listLinks(ctx: ShortenerContext, actor: Actor, input: ListLinksInput): Promise<ListLinksResult> {
  const problems: FieldError[] = [];
  const limit = input.limit ?? LIST_LIMIT_DEFAULT;
  if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMIT_MAX) {
    problems.push({ field: 'limit', message: `must be an integer from 1 to ${LIST_LIMIT_MAX}` });
  }
  const createdFrom = parseTime('created_after', input.createdAfter, problems);
  const createdTo = parseTime('created_before', input.createdBefore, problems);
  if (input.q !== undefined && input.q.length > 200) problems.push({ field: 'q', message: 'at most 200 characters' });
  if (problems.length > 0) throw validationError(problems);
  const sort = input.sort ?? 'created_at';
  const order = input.order ?? 'desc';
  const after = input.cursor !== undefined ? decodeCursor(input.cursor, sort, order) : undefined;
  // Counts include clicks not yet compacted; the order (sort=clicks) is by stored counts.
  const page = await ctx.clicks.consistentRead(async () => {
    const stored = await ctx.links.list({
      accountId: actor.isAdmin ? undefined : actor.accountId,
      tag: input.tag,
      text: input.q,
      createdFrom,
      createdTo,
      sort,
      order,
      limit,
      after,
    });
    return { ...stored, items: stored.items.map((link) => withPendingClicks(ctx, link)) };
  });
  const items = page.items;
  return { items, nextCursor: page.next ? encodeCursor(page.next) : null, limit };
}

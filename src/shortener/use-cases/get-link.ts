import { canAccess, type Actor } from '../../platform/auth/actor.js';
import { TnyError } from '../../platform/errors.js';
import type { ShortenerContext } from '../context.js';
import type { Link } from '../link.js';

export function linkNotFound(key: string): TnyError {
  return new TnyError('LINK_NOT_FOUND', { message: `no link has the key "${key}"` });
}

/** A link the actor may see; another account's link is reported as missing, not forbidden. */
export async function getLink(ctx: ShortenerContext, actor: Actor, key: string): Promise<Link> {
  const link = await ctx.clicks.consistentRead(async () => {
    const stored = await ctx.links.findByKey(key);
    return stored && withPendingClicks(ctx, stored);
  });
  if (!link || !canAccess(actor, link.accountId)) throw linkNotFound(key);
  return link;
}

/** The link with clicks accepted but not yet in its stored count added. */
export function withPendingClicks(ctx: ShortenerContext, link: Link): Link {
  const pending = ctx.clicks.pendingCount(link.id);
  return pending === 0 ? link : { ...link, clickCount: link.clickCount + pending };
}

import type { Actor } from '../../platform/auth/actor.js';
import type { ShortenerContext } from '../context.js';
import { getLink, linkNotFound } from './get-link.js';

/** Deletes a link with its tags and statistics; its key becomes free again. */
export async function deleteLink(ctx: ShortenerContext, actor: Actor, key: string): Promise<void> {
  await getLink(ctx, actor, key);
  const deleted = await ctx.links.delete(key);
  await ctx.cache.invalidate(key);
  if (!deleted) throw linkNotFound(key);
}

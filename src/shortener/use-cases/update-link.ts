import type { Actor } from '../../platform/auth/actor.js';
import type { ShortenerContext } from '../context.js';
import type { Link, LinkChanges } from '../link.js';
import { keyChangeRefused, parseLinkFields, type LinkInput } from '../link-input.js';
import { normalizeTargetUrl } from '../validate-url.js';
import { getLink, linkNotFound } from './get-link.js';

/**
 * PATCH changes only the fields given; PUT replaces the link's settings, so a field left out
 * goes back to its default. The key never changes. The cached copy is dropped either way.
 */
export async function updateLink(
  ctx: ShortenerContext,
  actor: Actor,
  key: string,
  input: LinkInput,
  mode: 'patch' | 'put',
): Promise<Link> {
  await getLink(ctx, actor, key);
  if (input.alias !== undefined && input.alias !== key) throw keyChangeRefused();
  const full: LinkInput =
    mode === 'put'
      ? {
          expiresAt: null,
          maxClicks: null,
          redirectStatus: ctx.policy.defaultRedirectStatus,
          password: null,
          tags: [],
          forwardQuery: false,
          disabled: false,
          // Only the fields given: an explicit `undefined` must not undo a default.
          ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)),
        }
      : input;
  const now = ctx.clock.now();
  const changes: LinkChanges = { ...(await parseLinkFields(full, now)), updatedAt: now };
  if (mode === 'put' || input.url !== undefined) changes.url = normalizeTargetUrl(full.url, ctx.policy.url);
  const updated = await ctx.links.update(key, changes);
  await ctx.cache.invalidate(key);
  if (!updated) throw linkNotFound(key);
  return updated;
}

import { TnyError } from '../../platform/errors.js';
import type { ShortenerContext } from '../context.js';
import { verifyPassword } from '../password.js';
import { follow, type ClickContext, type Resolution } from './resolve-link.js';

/**
 * The second step of a password link: a correct password redirects (and counts the click);
 * a wrong one is INVALID_PASSWORD. Attempts are rate limited by the caller (HTTP layer).
 */
export async function unlockLink(
  ctx: ShortenerContext,
  key: string,
  password: string,
  click: ClickContext,
): Promise<Resolution> {
  const link = await ctx.cache.get(key);
  if (link === null) return { kind: 'missing' };
  if (link.passwordHash === null) return follow(ctx, link, click);
  if (!(await verifyPassword(password, link.passwordHash))) throw new TnyError('INVALID_PASSWORD');
  return follow(ctx, link, click);
}

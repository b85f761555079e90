import type { Actor } from '../../platform/auth/actor.js';
import { TnyError } from '../../platform/errors.js';
import type { ShortenerContext } from '../context.js';
import type { Link, NewLink } from '../link.js';
import { parseLinkFields, type LinkInput } from '../link-input.js';
import { checkAlias } from '../validate-alias.js';
import { normalizeTargetUrl } from '../validate-url.js';

const MAX_KEY_ATTEMPTS = 16;

export interface CreateResult {
  link: Link;
  /** false when the hash strategy found the same URL already shortened by this account. */
  created: boolean;
}

/** Validates a link and stores it under its alias or a generated key. */
export async function createLink(ctx: ShortenerContext, actor: Actor, input: LinkInput): Promise<CreateResult> {
  const draft = await prepareLink(ctx, actor, input);
  if (input.alias !== undefined) {
    const stored = await ctx.links.insert({ ...draft, key: input.alias });
    if (stored === 'conflict') throw aliasTaken(input.alias);
    await ctx.cache.invalidate(input.alias);
    return { link: stored, created: true };
  }
  return storeWithGeneratedKey(ctx, draft);
}

/**
 * Stores a prepared link under a key from the configured strategy, retrying on collisions.
 * `created: false` when the hash strategy found the same URL already shortened by the owner.
 */
export async function storeWithGeneratedKey(ctx: ShortenerContext, draft: Omit<NewLink, 'key'>): Promise<CreateResult> {
  let attempt = 0;
  for (let tries = 0; tries < MAX_KEY_ATTEMPTS; tries++) {
    const key = await ctx.keys.candidate(draft.url, draft.accountId, attempt);
    if (ctx.keys.strategy === 'hash') {
      const existing = await ctx.links.findByKey(key);
      if (existing) {
        if (existing.url === draft.url && existing.accountId === draft.accountId) return { link: existing, created: false };
        attempt++;
        continue;
      }
    }
    const stored = await ctx.links.insert({ ...draft, key });
    if (stored !== 'conflict') {
      await ctx.cache.invalidate(key);
      return { link: stored, created: true };
    }
    // Taken by a custom alias (counter), by chance (random), or by a racing insert of the
    // same hash: look again at the same attempt in that case.
    if (ctx.keys.strategy !== 'hash') attempt++;
  }
  throw new TnyError('SERVICE_UNAVAILABLE', { message: 'no free short key was found; try again' });
}

/** Everything but the key: validated, normalised, password hashed. */
export async function prepareLink(ctx: ShortenerContext, actor: Actor, input: LinkInput): Promise<Omit<NewLink, 'key'>> {
  const url = normalizeTargetUrl(input.url, ctx.policy.url);
  if (input.alias !== undefined) checkAlias(input.alias, ctx.policy.reservedAliases);
  const now = ctx.clock.now();
  const fields = await parseLinkFields(input, now);
  return {
    url,
    accountId: actor.accountId,
    createdAt: now,
    updatedAt: now,
    expiresAt: fields.expiresAt ?? null,
    maxClicks: fields.maxClicks ?? null,
    redirectStatus: fields.redirectStatus ?? ctx.policy.defaultRedirectStatus,
    passwordHash: fields.passwordHash ?? null,
    tags: fields.tags ?? [],
    forwardQuery: fields.forwardQuery ?? false,
    disabled: fields.disabled ?? false,
  };
}

export function aliasTaken(alias: string): TnyError {
  return new TnyError('ALIAS_TAKEN', {
    message: `the alias "${alias}" is already taken`,
    details: [{ field: 'alias', message: 'already taken' }],
  });
}

import type { ShortenerContext, ShortenerPolicy } from '../context.js';
import { goneReason, type Link, type LinkGoneReason } from '../link.js';

export type Resolution =
  | { kind: 'redirect'; status: number; location: string; cacheControl: string }
  | { kind: 'password'; key: string }
  | { kind: 'gone'; reason: 'expired' | 'disabled' | 'click_limit' }
  | { kind: 'missing' };

export interface ClickContext {
  /** false for requests that only look (HEAD): they are answered but not counted. */
  count: boolean;
  /** The raw query string of the request, without '?', or ''. */
  query: string;
  referer: string | undefined;
  userAgent: string | undefined;
}

const MISSING: Resolution = { kind: 'missing' };

/**
 * The redirect hot path: cache-aside lookup, then the link's own rules. Never waits for a
 * database write, except for links with max_clicks whose limit must hold exactly across
 * concurrent requests (one atomic conditional UPDATE).
 */
export async function resolveLink(ctx: ShortenerContext, key: string, click: ClickContext): Promise<Resolution> {
  const link = await ctx.cache.get(key);
  if (link === null) return MISSING;
  if (link.passwordHash !== null) {
    const gone = goneIgnoringLimit(link, ctx.clock.now());
    return gone ? { kind: 'gone', reason: gone } : { kind: 'password', key };
  }
  return follow(ctx, link, click);
}

/**
 * The common case without a promise: a cached link with neither a password nor a click limit
 * resolves synchronously. `undefined` means "not that case": call resolveLink.
 */
export function resolveCached(ctx: ShortenerContext, key: string, click: ClickContext): Resolution | undefined {
  const link = ctx.cache.peek(key);
  if (link === undefined) return undefined;
  if (link === null) return MISSING;
  if (link.passwordHash !== null || link.maxClicks !== null) return undefined;
  const now = ctx.clock.now();
  const gone = goneReason(link, now);
  return gone ? { kind: 'gone', reason: gone } : redirectTo(ctx, link, click, now);
}

/** Checks the link's rules, counts the click and builds the redirect. */
export async function follow(ctx: ShortenerContext, link: Link, click: ClickContext): Promise<Resolution> {
  const now = ctx.clock.now();
  const gone = goneIgnoringLimit(link, now);
  if (gone) return { kind: 'gone', reason: gone };
  if (link.maxClicks !== null) {
    // Counting requests take a click atomically; a HEAD only looks (at a possibly stale count).
    const within = click.count ? await ctx.links.consumeLimitedClick(link) : link.clickCount < link.maxClicks;
    if (!within) return { kind: 'gone', reason: 'click_limit' };
  }
  return redirectTo(ctx, link, click, now);
}

function redirectTo(ctx: ShortenerContext, link: Link, click: ClickContext, now: number): Resolution {
  if (click.count) ctx.recorder.record(link, click.referer, click.userAgent, now);
  return {
    kind: 'redirect',
    status: link.redirectStatus,
    location: link.forwardQuery && click.query !== '' ? withQuery(link.url, click.query) : link.url,
    cacheControl: cacheControlFor(link, now, ctx.policy),
  };
}

/**
 * Why the link is gone, not counting its click limit (checked atomically in follow(), and not
 * before the password). Copies the link only when it has a limit: not on every redirect.
 */
function goneIgnoringLimit(link: Link, now: number): LinkGoneReason {
  return goneReason(link.maxClicks === null ? link : { ...link, maxClicks: null }, now);
}

/**
 * 301/308 may be cached by browsers and proxies (then later clicks are not counted and edits
 * are not seen); 302/307 are cached only as long as configured (default: not at all). Links
 * that count toward a limit or need a password are never cached; none outlives its expiry.
 */
export function cacheControlFor(link: Link, now: number, policy: ShortenerPolicy): string {
  if (link.maxClicks !== null || link.passwordHash !== null) return 'no-store';
  const permanent = link.redirectStatus === 301 || link.redirectStatus === 308;
  if (link.expiresAt === null) return constantCacheControl(policy)[permanent ? 0 : 1];
  let maxAge = permanent ? policy.permanentMaxAgeSeconds : policy.temporaryMaxAgeSeconds;
  if (link.expiresAt !== null) maxAge = Math.min(maxAge, Math.max(0, Math.floor((link.expiresAt - now) / 1000)));
  return `${permanent ? 'public' : 'private'}, max-age=${maxAge}`;
}

const constantHeaders = new WeakMap<ShortenerPolicy, readonly [string, string]>();

/** The two Cache-Control values of links without expiry, built once per policy. */
function constantCacheControl(policy: ShortenerPolicy): readonly [string, string] {
  let pair = constantHeaders.get(policy);
  if (!pair) {
    pair = [`public, max-age=${policy.permanentMaxAgeSeconds}`, `private, max-age=${policy.temporaryMaxAgeSeconds}`];
    constantHeaders.set(policy, pair);
  }
  return pair;
}

/** Appends the request's query to the target, before any fragment, re-encoding unsafe bytes. */
export function withQuery(target: string, query: string): string {
  const safe = query.replace(/[^\x21-\x7e]|#/g, (c) => encodeURIComponent(c));
  const hashAt = target.indexOf('#');
  const base = hashAt === -1 ? target : target.slice(0, hashAt);
  const hash = hashAt === -1 ? '' : target.slice(hashAt);
  return `${base}${base.includes('?') ? '&' : '?'}${safe}${hash}`;
}

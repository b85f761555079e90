import { TnyError, validationError, type FieldError } from '../platform/errors.js';
import { REDIRECT_STATUSES, type LinkChanges, type RedirectStatus } from './link.js';
import { hashPassword } from './password.js';

/** A link as clients describe it (HTTP body, CSV row), before validation. */
export interface LinkInput {
  url?: string;
  alias?: string;
  expiresAt?: string | null;
  maxClicks?: number | null;
  redirectStatus?: number;
  password?: string | null;
  tags?: string[];
  forwardQuery?: boolean;
  disabled?: boolean;
}

export const TAG_PATTERN = /^[^\s,]{1,64}$/u;
export const MAX_TAGS = 20;
export const MAX_CLICKS_LIMIT = 1_000_000_000_000;
const PASSWORD_MAX = 256;

/** Parses the optional fields of a link; unknown/absent fields stay undefined. */
export async function parseLinkFields(input: LinkInput, now: number): Promise<Omit<LinkChanges, 'updatedAt' | 'url'>> {
  const problems: FieldError[] = [];
  const out: Omit<LinkChanges, 'updatedAt' | 'url'> = {};

  if (input.expiresAt !== undefined) {
    if (input.expiresAt === null) out.expiresAt = null;
    else {
      const at = Date.parse(input.expiresAt);
      if (!/^\d{4}-\d{2}-\d{2}T/.test(input.expiresAt) || Number.isNaN(at)) {
        problems.push({ field: 'expires_at', message: 'must be an ISO 8601 date-time, e.g. 2030-01-31T00:00:00Z' });
      } else if (at <= now) problems.push({ field: 'expires_at', message: 'must be in the future' });
      else out.expiresAt = at;
    }
  }
  if (input.maxClicks !== undefined) {
    const n = input.maxClicks;
    if (n === null) out.maxClicks = null;
    else if (!Number.isSafeInteger(n) || n < 1 || n > MAX_CLICKS_LIMIT) {
      problems.push({ field: 'max_clicks', message: `must be an integer from 1 to ${MAX_CLICKS_LIMIT}` });
    } else out.maxClicks = n;
  }
  if (input.redirectStatus !== undefined) {
    if (!REDIRECT_STATUSES.includes(input.redirectStatus as RedirectStatus)) {
      problems.push({ field: 'redirect_status', message: 'must be 301, 302, 307 or 308' });
    } else out.redirectStatus = input.redirectStatus as RedirectStatus;
  }
  if (input.tags !== undefined) {
    const tags = [...new Set(input.tags)];
    if (tags.length > MAX_TAGS) problems.push({ field: 'tags', message: `at most ${MAX_TAGS} tags` });
    else if (!tags.every((t) => typeof t === 'string' && TAG_PATTERN.test(t))) {
      problems.push({ field: 'tags', message: 'a tag is 1 to 64 characters without spaces or commas' });
    } else out.tags = tags;
  }
  if (input.forwardQuery !== undefined) out.forwardQuery = input.forwardQuery;
  if (input.disabled !== undefined) out.disabled = input.disabled;
  if (input.password !== undefined && input.password !== null) {
    if (typeof input.password !== 'string' || input.password.length < 1 || input.password.length > PASSWORD_MAX) {
      problems.push({ field: 'password', message: `must be 1 to ${PASSWORD_MAX} characters` });
    }
  }
  if (problems.length > 0) throw validationError(problems);
  // Hash last: scrypt is deliberately slow, so only for otherwise valid input.
  if (input.password === null) out.passwordHash = null;
  else if (input.password !== undefined) out.passwordHash = await hashPassword(input.password);
  return out;
}

export function keyChangeRefused(): TnyError {
  const message = 'the key of a link cannot be changed';
  return validationError([{ field: 'alias', message }]);
}

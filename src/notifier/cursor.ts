import { TnyError } from '../platform/errors.js';

/**
 * Opaque keyset cursors for the notifier's lists: base64url of a JSON array holding the list's
 * kind and the last item's key parts, so a cursor from one list is refused by another.
 */
export function encodeKeyCursor(kind: string, parts: readonly string[]): string {
  return Buffer.from(JSON.stringify([kind, ...parts])).toString('base64url');
}

export function decodeKeyCursor(kind: string, text: string, size: number): string[] {
  const bad = (why: string) => new TnyError('INVALID_CURSOR', { message: `invalid cursor: ${why}`, details: [{ field: 'cursor', message: why }] });
  if (!/^[A-Za-z0-9_-]{1,1024}$/.test(text)) throw bad('not base64url');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad('not a cursor');
  }
  if (!Array.isArray(parsed) || parsed.length !== size + 1 || !parsed.every((p) => typeof p === 'string' && p.length <= 256)) {
    throw bad('not a cursor');
  }
  if (parsed[0] !== kind) throw bad('it was made for another list');
  return (parsed as string[]).slice(1);
}

export const PAGE_LIMIT_DEFAULT = 20;
export const PAGE_LIMIT_MAX = 100;

export function checkLimit(limit: number | undefined): number {
  const value = limit ?? PAGE_LIMIT_DEFAULT;
  if (!Number.isInteger(value) || value < 1 || value > PAGE_LIMIT_MAX) {
    throw new TnyError('VALIDATION_ERROR', {
      message: `limit: must be an integer from 1 to ${PAGE_LIMIT_MAX}`,
      details: [{ field: 'limit', message: `must be an integer from 1 to ${PAGE_LIMIT_MAX}` }],
    });
  }
  return value;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
  limit: number;
}

/** Turns `limit + 1` fetched rows into a page and the cursor after its last item. */
export function toPage<T>(rows: T[], limit: number, cursorOf: (last: T) => string): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null, limit };
}

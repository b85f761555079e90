import { TnyError } from '../platform/errors.js';
import type { LinkCursor, LinkSort, SortOrder } from './link.js';

/** Cursors are opaque to clients: base64url of the sort key of the last item seen. */
export function encodeCursor(c: LinkCursor): string {
  return Buffer.from(JSON.stringify([c.sort, c.order, c.value, c.key])).toString('base64url');
}

/** Decodes a cursor made for the same sort and order; anything else is INVALID_CURSOR. */
export function decodeCursor(text: string, sort: LinkSort, order: SortOrder): LinkCursor {
  const bad = (why: string) =>
    new TnyError('INVALID_CURSOR', { message: `invalid cursor: ${why}`, details: [{ field: 'cursor', message: why }] });
  if (!/^[A-Za-z0-9_-]{1,512}$/.test(text)) throw bad('not base64url');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad('not a cursor');
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 4 ||
    typeof parsed[2] !== 'number' ||
    !Number.isSafeInteger(parsed[2]) ||
    typeof parsed[3] !== 'string' ||
    parsed[3].length > 64
  ) {
    throw bad('not a cursor');
  }
  if (parsed[0] !== sort || parsed[1] !== order) throw bad('it was made for another sort or order');
  return { sort, order, value: parsed[2], key: parsed[3] };
}

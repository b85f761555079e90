import { validationError, type FieldError } from '../platform/errors.js';
import type { Link } from './link.js';
import type { LinkInput } from './link-input.js';
import { isPasswordHash } from './password.js';

/**
 * The portable form of a link: what `tny links export` writes and `tny links import` reads,
 * as CSV columns or JSON object fields. Every field but `url` is optional on import.
 */
export const LINK_RECORD_FIELDS = [
  'url',
  'alias',
  'tags',
  'expires_at',
  'max_clicks',
  'redirect_status',
  'forward_query',
  'disabled',
  'password_hash',
  'created_at',
] as const;

export type LinkRecordField = (typeof LINK_RECORD_FIELDS)[number];

/**
 * Tags in one CSV cell are separated by commas (a comma cannot occur in a tag; `|` can).
 * The cell is quoted, as CSV requires for a comma: `"news,2024"`.
 */
export const TAG_SEPARATOR = ',';

export interface LinkRecord {
  url: string;
  alias: string;
  tags: string[];
  expires_at: string | null;
  max_clicks: number | null;
  redirect_status: number;
  forward_query: boolean;
  disabled: boolean;
  password_hash: string | null;
  created_at: string;
}

/** What a record asks for: the API's input, plus the fields only an import may set. */
export interface ParsedLinkRecord {
  input: LinkInput;
  /** An existing scrypt hash made by tny, stored as it is. */
  passwordHash?: string;
  createdAt?: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function toLinkRecord(link: Link): LinkRecord {
  return {
    url: link.url,
    alias: link.key,
    tags: link.tags,
    expires_at: link.expiresAt === null ? null : iso(link.expiresAt),
    max_clicks: link.maxClicks,
    redirect_status: link.redirectStatus,
    forward_query: link.forwardQuery,
    disabled: link.disabled,
    password_hash: link.passwordHash,
    created_at: iso(link.createdAt),
  };
}

/** One CSV row in `LINK_RECORD_FIELDS` order: empty cells for null, tags joined. */
export function toCsvCells(record: LinkRecord): string[] {
  return LINK_RECORD_FIELDS.map((field) => {
    const value = record[field];
    if (value === null) return '';
    if (Array.isArray(value)) return value.join(TAG_SEPARATOR);
    return String(value);
  });
}

const absent = (v: unknown) => v === undefined || v === null || v === '';

/**
 * Reads a record from CSV (all strings) or JSON (native types). Absent, null and empty fields
 * take the defaults of a new link. Conversions only: the link itself is validated by the same
 * code as the API's (`prepareLink`).
 */
export function parseLinkRecord(raw: Readonly<Record<string, unknown>>, now: number): ParsedLinkRecord {
  const problems: FieldError[] = [];
  const input: LinkInput = {};
  const out: ParsedLinkRecord = { input };
  const text = (field: LinkRecordField): string | undefined => {
    const v = raw[field];
    if (absent(v)) return undefined;
    if (typeof v === 'string') return v;
    problems.push({ field, message: 'must be a string' });
    return undefined;
  };
  const integer = (field: LinkRecordField): number | undefined => {
    const v = raw[field];
    if (absent(v)) return undefined;
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && /^\s*\d+\s*$/.test(v)) return Number(v);
    // Left to the API's validation, which names the allowed values.
    return Number.NaN;
  };
  const flag = (field: LinkRecordField): boolean | undefined => {
    const v = raw[field];
    if (typeof v === 'boolean') return v;
    if (absent(v)) return undefined;
    const word = typeof v === 'string' ? v.trim().toLowerCase() : '';
    if (['true', '1', 'yes'].includes(word)) return true;
    if (['false', '0', 'no'].includes(word)) return false;
    problems.push({ field, message: 'must be true or false' });
    return undefined;
  };

  input.url = typeof raw.url === 'string' ? raw.url : undefined;
  input.alias = text('alias');
  const tags = raw.tags;
  if (Array.isArray(tags)) input.tags = tags as string[];
  else if (typeof tags === 'string') {
    input.tags = tags
      .split(TAG_SEPARATOR)
      .map((t) => t.trim())
      .filter((t) => t !== '');
  } else if (!absent(tags)) problems.push({ field: 'tags', message: `must be a list or text separated by "${TAG_SEPARATOR}"` });
  input.expiresAt = text('expires_at');
  input.maxClicks = integer('max_clicks');
  input.redirectStatus = integer('redirect_status');
  input.forwardQuery = flag('forward_query');
  input.disabled = flag('disabled');

  const hash = text('password_hash');
  if (hash !== undefined) {
    if (isPasswordHash(hash)) out.passwordHash = hash;
    else problems.push({ field: 'password_hash', message: 'must be a scrypt hash made by tny (scrypt$N$r$p$salt$hash)' });
  }
  const created = text('created_at');
  if (created !== undefined) {
    const at = Date.parse(created);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(created) || Number.isNaN(at)) {
      problems.push({ field: 'created_at', message: 'must be an ISO 8601 date-time' });
    } else if (at > now) problems.push({ field: 'created_at', message: 'must not be in the future' });
    else out.createdAt = at;
  }
  if (problems.length > 0) throw validationError(problems);
  return out;
}

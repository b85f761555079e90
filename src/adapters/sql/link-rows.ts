import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Link, NewLink, RedirectStatus } from '../../shortener/link.js';
import type { Database, ShortUrlsTable } from './schema.js';
import { chunks, compareText } from './sql-helpers.js';

type Db = Kysely<Database> | Transaction<Database>;
export type ShortUrlRow = Selectable<ShortUrlsTable>;

/** Tags as stored and returned: without duplicates, sorted. */
export function normalizeTags(tags: readonly string[]): string[] {
  return [...new Set(tags)].sort(compareText);
}

export function toLink(row: ShortUrlRow, tags: readonly string[]): Link {
  return {
    id: Number(row.id),
    key: row.short_key,
    url: row.original_url,
    accountId: Number(row.account_id),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    maxClicks: row.max_clicks === null ? null : Number(row.max_clicks),
    clickCount: Number(row.click_count),
    redirectStatus: Number(row.redirect_status) as RedirectStatus,
    passwordHash: row.password_hash,
    tags: normalizeTags(tags),
    forwardQuery: Number(row.forward_query) !== 0,
    disabled: Number(row.disabled) !== 0,
  };
}

export function toRow(link: NewLink) {
  return {
    short_key: link.key,
    original_url: link.url,
    account_id: link.accountId,
    created_at: link.createdAt,
    updated_at: link.updatedAt,
    expires_at: link.expiresAt,
    max_clicks: link.maxClicks,
    click_count: 0,
    redirect_status: link.redirectStatus,
    password_hash: link.passwordHash,
    forward_query: link.forwardQuery ? 1 : 0,
    disabled: link.disabled ? 1 : 0,
  };
}

/** Tags of many links in one query per chunk of ids, sorted per link. */
export async function loadTags(db: Db, linkIds: readonly number[]): Promise<Map<number, string[]>> {
  const byLink = new Map<number, string[]>();
  for (const ids of chunks([...new Set(linkIds)])) {
    const rows = await db.selectFrom('link_tags').select(['link_id', 'tag']).where('link_id', 'in', ids).execute();
    for (const row of rows) {
      const id = Number(row.link_id);
      const list = byLink.get(id);
      if (list) list.push(row.tag);
      else byLink.set(id, [row.tag]);
    }
  }
  for (const list of byLink.values()) list.sort(compareText);
  return byLink;
}

/** Stores the tags of freshly inserted (or re-tagged) links. */
export async function insertTags(db: Db, entries: readonly { linkId: number; tags: readonly string[] }[]): Promise<void> {
  const rows = entries.flatMap((e) => normalizeTags(e.tags).map((tag) => ({ link_id: e.linkId, tag })));
  for (const part of chunks(rows)) await db.insertInto('link_tags').values(part).execute();
}

import { createHash } from 'node:crypto';
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { ClickRollupsTable, Database, LinkTagsTable, ShortUrlsTable } from '../sql/schema.js';
import { chunks } from '../sql/sql-helpers.js';

type Db = Kysely<Database> | Transaction<Database>;

/** Everything that moves with a batch of links: the rows, their tags, their click rollups. */
interface BatchRows {
  links: Selectable<ShortUrlsTable>[];
  tags: Selectable<LinkTagsTable>[];
  rollups: Selectable<ClickRollupsTable>[];
}

/** The copy on the new shard differs from the rows on the old one (a concurrent create of the same key there). */
export class MoveMismatchError extends Error {
  constructor(readonly keys: number) {
    super(`moved batch of ${keys} links does not match on the new shard (count or checksum); it was not deleted from the old shard`);
  }
}

async function readById(db: Db, ids: readonly number[]): Promise<BatchRows> {
  const links: BatchRows['links'] = [];
  const tags: BatchRows['tags'] = [];
  const rollups: BatchRows['rollups'] = [];
  for (const part of chunks(ids)) {
    links.push(...(await db.selectFrom('short_urls').selectAll().where('id', 'in', part).execute()));
    tags.push(...(await db.selectFrom('link_tags').selectAll().where('link_id', 'in', part).execute()));
    rollups.push(...(await db.selectFrom('click_rollups').selectAll().where('link_id', 'in', part).execute()));
  }
  return { links, tags, rollups };
}

/**
 * A checksum over the batch's content, independent of row order and of how the driver types
 * numbers: every column of every row, canonical, sorted, hashed.
 */
export function batchChecksum(rows: BatchRows): { count: number; sum: string } {
  const n = (v: unknown) => (v === null ? null : Number(v));
  const lines = [
    ...rows.links.map((l) =>
      JSON.stringify(['l', n(l.id), l.short_key, l.original_url, n(l.account_id), n(l.created_at), n(l.updated_at), n(l.expires_at), n(l.max_clicks), n(l.click_count), n(l.redirect_status), l.password_hash, n(l.forward_query), n(l.disabled)]),
    ),
    ...rows.tags.map((t) => JSON.stringify(['t', n(t.link_id), t.tag])),
    ...rows.rollups.map((r) => JSON.stringify(['r', n(r.link_id), r.day, r.referrer, r.browser, r.os, n(r.bot), n(r.clicks)])),
  ].sort();
  const hash = createHash('sha256');
  for (const line of lines) hash.update(line).update('\n');
  return { count: rows.links.length, sum: hash.digest('hex') };
}

/**
 * Moves the links with `keys` from `from` to `to`, keeping their ids (ADR 8). One transaction
 * on the old shard locks the links (`FOR UPDATE`: edits, click writes and limited clicks take
 * the same row locks, so they wait and then find the row gone and go to the new shard), copies
 * links, tags and rollups to the new shard in one transaction (replacing an earlier copy of the
 * same ids a crashed run left there), verifies the copy (count and checksum), then deletes the
 * links from the old shard (tags and rollups cascade) and commits. Returns how many moved
 * (keys already gone are skipped). A mismatch throws MoveMismatchError and changes nothing.
 */
export async function moveBatch(from: Kysely<Database>, to: Kysely<Database>, keys: readonly string[]): Promise<number> {
  if (keys.length === 0) return 0;
  return from.transaction().execute(async (otx) => {
    const locked: { id: number | string }[] = [];
    for (const part of chunks([...keys])) {
      locked.push(...(await otx.selectFrom('short_urls').select('id').where('short_key', 'in', part).orderBy('id').forUpdate().execute()));
    }
    if (locked.length === 0) return 0;
    const ids = locked.map((r) => Number(r.id)).sort((a, b) => a - b);
    const rows = await readById(otx, ids);
    const expected = batchChecksum(rows);
    await to.transaction().execute(async (ntx) => {
      for (const part of chunks(ids)) await ntx.deleteFrom('short_urls').where('id', 'in', part).execute();
      // A key taken on the new shard by another link (a racing create) is not copied, nor are
      // its tags and rollups: the check below then fails and the batch is tried again.
      const copied = new Set<number>();
      for (const part of chunks(rows.links)) {
        const ids = await ntx
          .insertInto('short_urls')
          .values(part)
          .onConflict((oc) => oc.column('short_key').doNothing())
          .returning('id')
          .execute();
        for (const r of ids) copied.add(Number(r.id));
      }
      for (const part of chunks(rows.tags.filter((t) => copied.has(Number(t.link_id))))) {
        await ntx
          .insertInto('link_tags')
          .values(part)
          .onConflict((oc) => oc.columns(['link_id', 'tag']).doNothing())
          .execute();
      }
      for (const part of chunks(rows.rollups.filter((r) => copied.has(Number(r.link_id))))) {
        await ntx
          .insertInto('click_rollups')
          .values(part)
          .onConflict((oc) => oc.columns(['link_id', 'day', 'referrer', 'browser', 'os', 'bot']).doNothing())
          .execute();
      }
    });
    const check = batchChecksum(await readById(to, ids));
    if (check.count !== expected.count || check.sum !== expected.sum) throw new MoveMismatchError(ids.length);
    for (const part of chunks(ids)) await otx.deleteFrom('short_urls').where('id', 'in', part).execute();
    return ids.length;
  });
}

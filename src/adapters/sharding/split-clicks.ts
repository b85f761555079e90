import type { ClickBatch } from '../../shortener/clicks.js';
import { chunks } from '../sql/sql-helpers.js';
import { ID_STRIDE } from './shard-ids.js';
import type { Shard, ShardSet } from './shard-set.js';

/** A click batch that may say which key each link id has (the recorder's and Redis counters' batches do). */
export type RoutableClickBatch = ClickBatch & { keys?: ReadonlyMap<number, string> };

/**
 * The key of every link id of the batch: from the batch, else looked up by id on every shard
 * (ids are unique across shards and kept when a link moves, keys never change). Ids found
 * nowhere (deleted links) are left out, and so are their clicks.
 */
export async function keysOfBatch(set: ShardSet, batch: RoutableClickBatch): Promise<Map<number, string>> {
  const keys = new Map<number, string>();
  const unknown = new Set<number>();
  const note = (id: number) => {
    const key = batch.keys?.get(id);
    if (key !== undefined) keys.set(id, key);
    else unknown.add(id);
  };
  for (const r of batch.rollups) note(r.linkId);
  for (const id of batch.counts.keys()) note(id);
  if (unknown.size === 0) return keys;
  await Promise.all(
    set.shards.map(async (s) => {
      for (const part of chunks([...unknown])) {
        const rows = await s.database.db.selectFrom('short_urls').select(['id', 'short_key']).where('id', 'in', part).execute();
        for (const row of rows) keys.set(Number(row.id), row.short_key);
      }
    }),
  );
  return keys;
}

/** The part of `batch` that concerns `ids`. */
export function pickClicks(batch: ClickBatch, ids: ReadonlySet<number>): ClickBatch {
  const counts = new Map<number, number>();
  for (const [id, n] of batch.counts) if (ids.has(id)) counts.set(id, n);
  return { rollups: batch.rollups.filter((r) => ids.has(r.linkId)), counts };
}

/**
 * The batch cut into one batch per shard, each link's clicks on the first shard `pick` gives
 * for its key (default: the first candidate, i.e. the old owner while its key is moving).
 * Links without a key are left out. Shards with nothing to write are left out.
 */
export function splitClickBatch(
  set: ShardSet,
  batch: ClickBatch,
  keys: ReadonlyMap<number, string>,
  pick: (key: string) => Shard | undefined = (key) => set.candidates(key)[0],
): Map<Shard, ClickBatch> {
  const parts = new Map<Shard, ClickBatch>();
  const part = (linkId: number): ClickBatch | undefined => {
    const key = keys.get(linkId);
    const shard = key === undefined ? undefined : pick(key);
    if (!shard) return undefined;
    let p = parts.get(shard);
    if (!p) parts.set(shard, (p = { rollups: [], counts: new Map() }));
    return p;
  };
  for (const r of batch.rollups) part(r.linkId)?.rollups.push(r);
  for (const [id, n] of batch.counts) part(id)?.counts.set(id, n);
  return parts;
}

/**
 * Where clicks go that `from` reported missing: the next candidate of each link's key after
 * `from`. A link with no candidate left is gone (deleted), unless the topology changed: the
 * caller refreshes and asks again with `tried` holding the shards already written.
 */
export function nextShardFor(set: ShardSet, key: string, tried: ReadonlySet<Shard>): Shard | undefined {
  return set.candidates(key).find((s) => !tried.has(s));
}

/**
 * The shard that made a link id (its residue class, shard-ids.ts), or the key's shard when the
 * key is given. Not where the link is once links have moved (ADR 8): click writes route by key.
 */
export function shardOfLink(set: ShardSet, linkId: number, key: string | undefined): Shard {
  if (key !== undefined) return set.shardFor(key);
  const index = (((linkId - 1) % ID_STRIDE) + ID_STRIDE) % ID_STRIDE;
  const shard = set.shards[index];
  if (!shard) throw new Error(`link id ${linkId} belongs to shard s${index}, which is not in this set of ${set.size}`);
  return shard;
}

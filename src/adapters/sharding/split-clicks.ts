import type { ClickBatch } from '../../shortener/clicks.js';
import { ID_STRIDE } from './shard-ids.js';
import type { Shard, ShardSet } from './shard-set.js';

/** A click batch that may say which key each link id has (the Redis counters' batches do). */
export type RoutableClickBatch = ClickBatch & { keys?: ReadonlyMap<number, string> };

/**
 * The shard of a link id: the one its key routes to when the key is known, else the one whose
 * residue class the id is in (shard-ids.ts: the shard that made it). The two agree until links
 * move between shards (resharding, not built yet), which is why batches should carry keys.
 */
export function shardOfLink(set: ShardSet, linkId: number, key: string | undefined): Shard {
  if (key !== undefined) return set.shardFor(key);
  const index = (((linkId - 1) % ID_STRIDE) + ID_STRIDE) % ID_STRIDE;
  const shard = set.shards[index];
  if (!shard) throw new Error(`link id ${linkId} belongs to shard s${index}, which is not in this set of ${set.size}`);
  return shard;
}

/** The batch cut into one batch per shard (shards with nothing to write are left out). */
export function splitClickBatch(set: ShardSet, batch: RoutableClickBatch): Map<Shard, ClickBatch> {
  const parts = new Map<Shard, ClickBatch>();
  const part = (linkId: number): ClickBatch => {
    const shard = shardOfLink(set, linkId, batch.keys?.get(linkId));
    let p = parts.get(shard);
    if (!p) parts.set(shard, (p = { rollups: [], counts: new Map() }));
    return p;
  };
  for (const r of batch.rollups) part(r.linkId).rollups.push(r);
  for (const [id, n] of batch.counts) part(id).counts.set(id, n);
  return parts;
}

import type { ClickFlushTarget } from '../redis/click-flusher.js';
import { KyselyClickFlushes } from '../sql/kysely-click-flushes.js';
import type { ClickBatch } from '../../shortener/clicks.js';
import type { Shard, ShardSet } from './shard-set.js';
import { keysOfBatch, nextShardFor, pickClicks, splitClickBatch, type RoutableClickBatch } from './split-clicks.js';

/**
 * Where a Redis click flush lands when links are sharded (ADR 7 per shard): every shard gets
 * its part of the batch (by key; the old owner first while a key is moving) and the flush's
 * marker in one transaction of its own (an empty part still gets the marker). A flush that
 * failed on some shards is applied again as a whole; the shards whose marker is there skip it,
 * so each shard takes its part exactly once.
 *
 * Links a shard no longer holds (moved, ADR 8) are forwarded from inside that shard's
 * transaction, before it commits, to the key's next candidate under the marker `id>from`: if
 * the forward fails the whole part rolls back and is retried; if the forward committed and the
 * part did not, the retry finds the same links missing and the forward's marker already there.
 */
export class ShardedClickFlushes implements ClickFlushTarget {
  private readonly targets = new Map<string, KyselyClickFlushes>();

  constructor(private readonly set: ShardSet) {}

  private target(shard: Shard): KyselyClickFlushes {
    let t = this.targets.get(shard.name);
    if (!t) this.targets.set(shard.name, (t = new KyselyClickFlushes(shard.database.db, shard.database.dialect)));
    return t;
  }

  /** True when at least one shard wrote its part now; rejects if any shard failed (retry it). */
  async apply(id: string, batch: RoutableClickBatch, now: number, beforeCommit?: () => Promise<void>): Promise<boolean> {
    const keys = await keysOfBatch(this.set, batch);
    const parts = splitClickBatch(this.set, batch, keys);
    const shards = [...this.set.shards];
    const results = await Promise.allSettled(
      shards.map((s) => this.applyOn(s, id, parts.get(s) ?? { rollups: [], counts: new Map() }, keys, new Set([s]), now, beforeCommit)),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return results.some((r) => r.status === 'fulfilled' && r.value);
  }

  private applyOn(
    shard: Shard,
    marker: string,
    part: ClickBatch,
    keys: ReadonlyMap<number, string>,
    tried: ReadonlySet<Shard>,
    now: number,
    beforeCommit?: () => Promise<void>,
  ): Promise<boolean> {
    return this.target(shard).apply(marker, part, now, beforeCommit, async (missing) => {
      let refreshed = false;
      for (;;) {
        const forward = new Map<Shard, Set<number>>();
        const orphans: number[] = [];
        for (const linkId of missing) {
          const key = keys.get(linkId);
          const next = key === undefined ? undefined : nextShardFor(this.set, key, tried);
          if (!next) orphans.push(linkId);
          else if (forward.has(next)) forward.get(next)!.add(linkId);
          else forward.set(next, new Set([linkId]));
        }
        if (orphans.length > 0 && !refreshed && forward.size === 0) {
          refreshed = true;
          if (await this.set.refresh()) continue;
        }
        for (const [next, ids] of forward) {
          await this.applyOn(next, `${marker}>${shard.name}`, pickClicks(part, ids), keys, new Set([...tried, next]), now);
        }
        return;
      }
    });
  }

  /** Applied when every shard holds the marker. */
  async isApplied(id: string): Promise<boolean> {
    const each = await Promise.all(this.set.shards.map((s) => this.target(s).isApplied(id)));
    return each.every(Boolean);
  }

  async prune(before: number): Promise<number> {
    const each = await Promise.all(this.set.shards.map((s) => this.target(s).prune(before)));
    return each.reduce((a, b) => a + b, 0);
  }
}

import type { ClickFlushTarget } from '../redis/click-flusher.js';
import { KyselyClickFlushes } from '../sql/kysely-click-flushes.js';
import type { ShardSet } from './shard-set.js';
import { splitClickBatch, type RoutableClickBatch } from './split-clicks.js';

/**
 * Where a Redis click flush lands when links are sharded (ADR 7 per shard): every shard gets
 * its part of the batch and the flush's marker in one transaction of its own (an empty part
 * still gets the marker). A flush that failed on some shards is applied again as a whole;
 * the shards whose marker is there skip it, so each shard takes its part exactly once.
 */
export class ShardedClickFlushes implements ClickFlushTarget {
  private readonly targets: KyselyClickFlushes[];

  constructor(private readonly set: ShardSet) {
    this.targets = set.shards.map((s) => new KyselyClickFlushes(s.database.db, s.database.dialect));
  }

  /** True when at least one shard wrote its part now; rejects if any shard failed (retry it). */
  async apply(id: string, batch: RoutableClickBatch, now: number, beforeCommit?: () => Promise<void>): Promise<boolean> {
    const parts = splitClickBatch(this.set, batch);
    const results = await Promise.allSettled(
      this.set.shards.map((s, i) => this.targets[i]!.apply(id, parts.get(s) ?? { rollups: [], counts: new Map() }, now, beforeCommit)),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return results.some((r) => r.status === 'fulfilled' && r.value);
  }

  /** Applied when every shard holds the marker. */
  async isApplied(id: string): Promise<boolean> {
    const each = await Promise.all(this.targets.map((t) => t.isApplied(id)));
    return each.every(Boolean);
  }

  async prune(before: number): Promise<number> {
    const each = await Promise.all(this.targets.map((t) => t.prune(before)));
    return each.reduce((a, b) => a + b, 0);
  }
}

import type { ClickAggregate, ClickBatch, LinkStats } from '../../shortener/clicks.js';
import type { ClickRepository } from '../../shortener/ports.js';
import { KyselyClickRepository } from '../sql/kysely-click-repository.js';
import type { Shard, ShardSet } from './shard-set.js';
import { shardOfLink, splitClickBatch, type RoutableClickBatch } from './split-clicks.js';

export interface ShardedClickRepositoryOptions {
  /** Aggregates held for shards that failed before new batches are refused (default 100,000). */
  maxPending?: number;
}

/**
 * Click rollups and counts on the links' shards. A batch is cut by shard (by key when the batch
 * carries keys, else by the id's shard: split-clicks.ts) and each part is one transaction on its
 * shard, the shards written concurrently. Not atomic across shards, so a retry of the whole
 * batch would count twice what the shards that succeeded already hold: instead, when some parts
 * fail and others commit, the failed parts are kept here (pendingCount, stats' extra rows) and
 * written first by the next addClicks or settle(). Only when no part could be written does
 * addClicks reject, so the caller's retry (the write-behind buffer keeps the batch) is safe.
 */
export class ShardedClickRepository implements ClickRepository {
  private readonly repos: Map<string, KyselyClickRepository>;
  private pending = new Map<Shard, ClickBatch>();
  /** Held parts being written: still counted by pendingCount until the write is over. */
  private inFlight = new Map<Shard, ClickBatch>();
  private pendingAggregates = 0;
  /** Odd while held clicks are being written (a seqlock for consistentRead). */
  private moves = 0;
  private moving: Promise<unknown> | undefined;
  private readonly maxPending: number;

  constructor(
    private readonly set: ShardSet,
    options: ShardedClickRepositoryOptions = {},
  ) {
    this.repos = new Map(set.shards.map((s) => [s.name, new KyselyClickRepository(s.database.db, s.database.dialect)]));
    this.maxPending = options.maxPending ?? 100_000;
  }

  async addClicks(batch: RoutableClickBatch): Promise<void> {
    if (this.pendingAggregates > this.maxPending) {
      await this.settle(); // throws while a shard is still failing: the caller keeps its batch
    }
    const parts = splitClickBatch(this.set, batch);
    const held = this.takePending();
    for (const [shard, part] of held) parts.set(shard, merge(parts.get(shard), part));
    const failed = await this.writeParts(parts, held.size > 0);
    if (failed.size === parts.size && parts.size > 0) {
      // Nothing of the new batch was written: give back only what we already held.
      for (const [shard, part] of held) this.hold(shard, part);
      const first = [...failed.values()][0];
      throw first;
    }
    for (const shard of failed.keys()) this.hold(shard, parts.get(shard)!);
  }

  /** Writes the parts held for failed shards; rejects if some still fail (they stay held). */
  async settle(): Promise<void> {
    const held = this.takePending();
    if (held.size === 0) return;
    const failed = await this.writeParts(held, true);
    for (const shard of failed.keys()) this.hold(shard, held.get(shard)!);
    if (failed.size > 0) throw [...failed.values()][0];
  }

  stats(linkId: number, fromDay: string, toDay: string, extra: readonly ClickAggregate[] = []): Promise<Omit<LinkStats, 'from' | 'to'>> {
    const shard = shardOfLink(this.set, linkId, undefined);
    const held = (this.pending.get(shard)?.rollups ?? []).filter((r) => r.linkId === linkId && r.day >= fromDay && r.day <= toDay);
    return this.repos.get(shard.name)!.stats(linkId, fromDay, toDay, [...extra, ...held]);
  }

  pendingCount(linkId: number): number {
    let n = 0;
    for (const part of this.pending.values()) n += part.counts.get(linkId) ?? 0;
    for (const part of this.inFlight.values()) n += part.counts.get(linkId) ?? 0;
    return n;
  }

  /** Runs `read` when no held clicks are being written, again if a write of them overlapped it. */
  async consistentRead<T>(read: () => Promise<T>): Promise<T> {
    for (;;) {
      while (this.moving) await this.moving.catch(() => undefined);
      const before = this.moves;
      const result = await read();
      if (this.moves === before && this.moving === undefined) return result;
    }
  }

  /** Aggregates held for shards that failed (for health and metrics). */
  heldAggregates(): number {
    return this.pendingAggregates;
  }

  /** Writes each part on its shard; `movesHeld`: some parts hold clicks pendingCount reports. */
  private async writeParts(parts: Map<Shard, ClickBatch>, movesHeld: boolean): Promise<Map<Shard, unknown>> {
    const failed = new Map<Shard, unknown>();
    const writing = Promise.all(
      [...parts].map(async ([shard, part]) => {
        try {
          await this.repos.get(shard.name)!.addClicks(part);
        } catch (error) {
          failed.set(shard, error);
        }
      }),
    );
    if (!movesHeld) {
      await writing;
      return failed;
    }
    this.moves++;
    this.moving = writing;
    try {
      await writing;
    } finally {
      this.inFlight = new Map();
      this.moving = undefined;
      this.moves++;
    }
    return failed;
  }

  /** Hands the held parts to a write; they stay visible to pendingCount until it is over. */
  private takePending(): Map<Shard, ClickBatch> {
    const held = this.pending;
    this.inFlight = held;
    this.pending = new Map();
    this.pendingAggregates = 0;
    return held;
  }

  private hold(shard: Shard, part: ClickBatch): void {
    this.pending.set(shard, merge(this.pending.get(shard), part));
    this.pendingAggregates += part.rollups.length;
  }
}

/** Two batches of the same shard as one (rollups concatenated: the writer merges equal rows). */
function merge(a: ClickBatch | undefined, b: ClickBatch): ClickBatch {
  if (!a) return b;
  const counts = new Map(a.counts);
  for (const [id, n] of b.counts) counts.set(id, (counts.get(id) ?? 0) + n);
  return { rollups: [...a.rollups, ...b.rollups], counts };
}

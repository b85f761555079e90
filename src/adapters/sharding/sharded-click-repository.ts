import type { ClickAggregate, ClickBatch, LinkStats } from '../../shortener/clicks.js';
import type { ClickRepository } from '../../shortener/ports.js';
import { KyselyClickRepository } from '../sql/kysely-click-repository.js';
import type { Shard, ShardSet } from './shard-set.js';
import { keysOfBatch, nextShardFor, pickClicks, shardOfLink, splitClickBatch, type RoutableClickBatch } from './split-clicks.js';

export interface ShardedClickRepositoryOptions {
  /** Aggregates held for shards that failed before new batches are refused (default 100,000). */
  maxPending?: number;
}

/**
 * Click rollups and counts on the links' shards. A batch is cut by shard by each link's key
 * (looked up by id when the batch has none: split-clicks.ts) and each part is one transaction
 * on its shard, the shards written concurrently. A shard that no longer holds a link (it moved
 * while a shard was being added, ADR 8) says so, and those clicks go to the key's next
 * candidate: the old owner's write waits on the mover's row lock, so a link is never counted
 * on a shard it is leaving. Not atomic across shards, so a retry of the whole batch would count
 * twice what the shards that succeeded already hold: instead, when some parts fail and others
 * commit, the failed parts are kept here (pendingCount, stats' extra rows) and written first by
 * the next addClicks or settle(). Only when no part could be written does addClicks reject, so
 * the caller's retry (the write-behind buffer keeps the batch) is safe.
 */
export class ShardedClickRepository implements ClickRepository {
  private readonly repos = new Map<string, KyselyClickRepository>();
  private pending = new Map<Shard, ClickBatch>();
  /** Held parts being written: still counted by pendingCount until the write is over. */
  private inFlight = new Map<Shard, ClickBatch>();
  /** Keys of the links whose clicks are held (routing a held part again needs them). */
  private heldKeys = new Map<number, string>();
  private pendingAggregates = 0;
  /** Odd while held clicks are being written (a seqlock for consistentRead). */
  private moves = 0;
  private moving: Promise<unknown> | undefined;
  private readonly maxPending: number;

  constructor(
    private readonly set: ShardSet,
    options: ShardedClickRepositoryOptions = {},
  ) {
    this.maxPending = options.maxPending ?? 100_000;
  }

  private repo(shard: Shard): KyselyClickRepository {
    let repo = this.repos.get(shard.name);
    if (!repo) this.repos.set(shard.name, (repo = new KyselyClickRepository(shard.database.db, shard.database.dialect)));
    return repo;
  }

  async addClicks(batch: RoutableClickBatch): Promise<void> {
    if (this.pendingAggregates > this.maxPending) {
      await this.settle(); // throws while a shard is still failing: the caller keeps its batch
    }
    const keys = await keysOfBatch(this.set, batch);
    const parts = splitClickBatch(this.set, batch, keys);
    const heldKeys = this.heldKeys;
    const held = this.takePending();
    for (const [id, key] of heldKeys) keys.set(id, key);
    for (const [shard, part] of held) parts.set(shard, merge(parts.get(shard), part));
    const { failed, written } = await this.writeParts(parts, keys, held.size > 0);
    if (!written && failed.size > 0) {
      // Nothing was written: give back only what we already held.
      for (const [shard, part] of held) this.hold(shard, part, keys);
      throw [...failed.values()][0]!.error;
    }
    for (const [shard, f] of failed) this.hold(shard, f.part, keys);
  }

  /** Writes the parts held for failed shards; rejects if some still fail (they stay held). */
  async settle(): Promise<void> {
    const keys = this.heldKeys;
    const held = this.takePending();
    if (held.size === 0) return;
    const { failed } = await this.writeParts(held, keys, true);
    for (const [shard, f] of failed) this.hold(shard, f.part, keys);
    if (failed.size > 0) throw [...failed.values()][0]!.error;
  }

  /** On the shard that holds the link now (ids are kept when links move: found by id). */
  async stats(linkId: number, fromDay: string, toDay: string, extra: readonly ClickAggregate[] = []): Promise<Omit<LinkStats, 'from' | 'to'>> {
    const shard = await this.shardHolding(linkId);
    const held = [...this.pending.values()].flatMap((p) => p.rollups.filter((r) => r.linkId === linkId && r.day >= fromDay && r.day <= toDay));
    return this.repo(shard).stats(linkId, fromDay, toDay, [...extra, ...held]);
  }

  /** The shard holding link `linkId`, by id: the shard that made it first (where it usually is). */
  private async shardHolding(linkId: number): Promise<Shard> {
    const maker = shardOfLink(this.set, linkId, undefined);
    const has = async (s: Shard) => (await s.database.db.selectFrom('short_urls').select('id').where('id', '=', linkId).executeTakeFirst()) !== undefined;
    if (await has(maker)) return maker;
    for (const s of this.set.shards) if (s !== maker && (await has(s))) return s;
    return maker; // gone: its stats are empty anywhere
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

  /** Writes each part on its shard, forwarding what a shard no longer holds (see writeRouted). */
  private async writeParts(parts: Map<Shard, ClickBatch>, keys: ReadonlyMap<number, string>, movesHeld: boolean): Promise<RoutedWrite> {
    const writing = writeRouted(this.set, parts, keys, (shard, part) => this.repo(shard).writeBatch(part));
    if (!movesHeld) return writing;
    this.moves++;
    this.moving = writing;
    try {
      return await writing;
    } finally {
      this.inFlight = new Map();
      this.moving = undefined;
      this.moves++;
    }
  }

  /** Hands the held parts to a write; they stay visible to pendingCount until it is over. */
  private takePending(): Map<Shard, ClickBatch> {
    const held = this.pending;
    this.inFlight = held;
    this.pending = new Map();
    this.heldKeys = new Map();
    this.pendingAggregates = 0;
    return held;
  }

  private hold(shard: Shard, part: ClickBatch, keys: ReadonlyMap<number, string>): void {
    this.pending.set(shard, merge(this.pending.get(shard), part));
    this.pendingAggregates += part.rollups.length;
    for (const id of part.counts.keys()) if (keys.has(id)) this.heldKeys.set(id, keys.get(id)!);
    for (const r of part.rollups) if (keys.has(r.linkId)) this.heldKeys.set(r.linkId, keys.get(r.linkId)!);
  }
}

interface RoutedWrite {
  /** Parts that could not be written, by the shard they were for. */
  failed: Map<Shard, { part: ClickBatch; error: unknown }>;
  /** Whether any part was written. */
  written: boolean;
}

/**
 * Writes `parts` (each on its shard, concurrently) and then, round after round, the clicks of
 * links a shard reported missing on the key's next candidate. A link with no candidate left
 * is deleted, unless the topology changed meanwhile (refreshed once per call).
 */
async function writeRouted(
  set: ShardSet,
  parts: Map<Shard, ClickBatch>,
  keys: ReadonlyMap<number, string>,
  write: (shard: Shard, part: ClickBatch) => Promise<number[]>,
): Promise<RoutedWrite> {
  const failed = new Map<Shard, { part: ClickBatch; error: unknown }>();
  const tried = new Map<number, Set<Shard>>();
  let written = false;
  let refreshed = false;
  let round = parts;
  while (round.size > 0) {
    const misses: { shard: Shard; part: ClickBatch; ids: number[] }[] = [];
    await Promise.all(
      [...round].map(async ([shard, part]) => {
        try {
          const ids = await write(shard, part);
          written = true;
          if (ids.length > 0) misses.push({ shard, part, ids });
        } catch (error) {
          const before = failed.get(shard);
          failed.set(shard, { part: merge(before?.part, part), error: before?.error ?? error });
        }
      }),
    );
    const forward = new Map<Shard, Set<number>>();
    const orphans: number[] = [];
    const route = (id: number) => {
      const key = keys.get(id);
      const next = key === undefined ? undefined : nextShardFor(set, key, tried.get(id)!);
      if (!next) return false;
      const ids = forward.get(next);
      if (ids) ids.add(id);
      else forward.set(next, new Set([id]));
      return true;
    };
    const missedParts = new Map<number, ClickBatch>();
    for (const m of misses) {
      for (const id of m.ids) {
        let t = tried.get(id);
        if (!t) tried.set(id, (t = new Set()));
        t.add(m.shard);
        missedParts.set(id, m.part);
        if (!route(id)) orphans.push(id);
      }
    }
    if (orphans.length > 0 && !refreshed) {
      refreshed = true;
      const changed = await set.refresh().catch(() => false);
      if (changed) for (const id of orphans) route(id);
    }
    round = new Map();
    for (const [shard, ids] of forward) {
      // Each id's clicks come from the part that missed it: group by that part.
      const byPart = new Map<ClickBatch, Set<number>>();
      for (const id of ids) {
        const part = missedParts.get(id)!;
        const group = byPart.get(part);
        if (group) group.add(id);
        else byPart.set(part, new Set([id]));
      }
      let out: ClickBatch | undefined;
      for (const [part, group] of byPart) out = merge(out, pickClicks(part, group));
      if (out) round.set(shard, out);
    }
  }
  return { failed, written };
}

/** Two batches of the same shard as one (rollups concatenated: the writer merges equal rows). */
function merge(a: ClickBatch | undefined, b: ClickBatch): ClickBatch {
  if (!a) return b;
  const counts = new Map(a.counts);
  for (const [id, n] of b.counts) counts.set(id, (counts.get(id) ?? 0) + n);
  return { rollups: [...a.rollups, ...b.rollups], counts };
}

import { HashRing } from '../../platform/hashing/hash-ring.js';
import { openPostgres } from '../postgres/open-postgres.js';
import { KyselySettingsStore } from '../sql/kysely-settings-store.js';
import { migrateToLatest } from '../sql/migrations.js';
import type { OpenedDatabase } from '../sql/open-database.js';
import { interleaveNotifierIds } from './notifier-ids.js';
import { interleaveLinkIds } from './shard-ids.js';
import { redactUrl, type ShardTarget } from './shard-urls.js';
import { sameDatabase, TopologyStore, type Topology, type TopologyShard } from './topology.js';

/** One database of the set. */
export interface Shard {
  /** `s0`, `s1`…: the ring's node id and the name stored in the database. */
  name: string;
  index: number;
  /** The URL with its password hidden, for messages and health checks. */
  label: string;
  database: OpenedDatabase;
  /** Where it is (for comparing with s0's topology); absent for sets built by hand in tests. */
  target?: TopologyShard;
}

/** Opens (without migrating) a shard the topology names that this process has not opened yet. */
export type ShardOpener = (target: TopologyShard, index: number) => Promise<Shard>;

/** Virtual nodes per shard on the ring (the chapter's 150): shares within a few % of equal. */
export const VNODES = 150;
/** The `settings` row that records which shard a database is. */
const IDENTITY_SETTING = 'shard_name';

/** How keys route at one epoch (immutable; a topology change swaps the whole object). */
interface Routing {
  epoch: number;
  /** Every shard, including one being added. */
  all: Shard[];
  /** The ring keys route on (stable), or the ring before the shard being added (migrating). */
  ring: HashRing;
  /** While migrating: the ring with the shard being added. */
  next: HashRing | undefined;
}

export interface ShardSetOptions {
  /** Opens shards that s0's topology lists beyond the configured ones. */
  opener?: ShardOpener;
  /** Told when s0's topology lists more shards than configured (update DATABASE_SHARDS). */
  warn?: (message: string) => void;
}

/**
 * The shards links are spread over (chapter §5.2): a link key's shard is its owner on a
 * consistent-hash ring whose nodes are the shard names (`s0`…), so routing depends on the
 * position in DATABASE_SHARDS, never on how a URL is spelled, and adding a shard moves only
 * about 1/(N+1) of the keys. `s0` is also the home of everything that is not sharded
 * (accounts, API keys, settings, idempotency keys, the notifier's per-account configuration) and of the topology
 * (topology.ts), which `tny shards add` changes while processes serve (ADR 8): while a shard is
 * being added, a key whose owner changes has two candidate shards, old first.
 */
export class ShardSet {
  private routing: Routing;
  private readonly byName: Map<string, Shard>;
  private refreshing: Promise<boolean> | undefined;
  private applying: Promise<void> = Promise.resolve();
  /** Creates in flight, by the epoch they were routed by. */
  private readonly inflight = new Map<number, number>();
  readonly topology: TopologyStore;

  private constructor(
    shards: Shard[],
    private readonly options: ShardSetOptions,
  ) {
    this.byName = new Map(shards.map((s) => [s.name, s]));
    this.routing = { epoch: 0, all: shards, ring: ringOver(shards), next: undefined };
    this.topology = new TopologyStore(shards[0]!.database.db);
  }

  /**
   * A set over opened, migrated PostgreSQL databases (given in DATABASE_SHARDS order). Checks
   * each database is the shard its position says (recorded on first use: a reordered list or a
   * database listed twice would send keys to the wrong shard), adopts s0's topology when it
   * lists more shards (opening them with `options.opener`) and interleaves link ids.
   */
  static async prepare(shards: Shard[], options: ShardSetOptions = {}): Promise<ShardSet> {
    if (shards.length === 0) throw new Error('a shard set needs at least one shard');
    for (const [i, s] of shards.entries()) {
      if (s.index !== i || s.name !== `s${i}`) throw new Error(`shard ${i} must be named s${i}, got ${s.name}`);
      await checkIdentity(s);
    }
    const set = new ShardSet(shards, options);
    const topology = await set.topology.read();
    if (topology) {
      checkConfigured(shards, topology);
      if (topology.shards.length > shards.length) {
        const extra = topology.shards.slice(shards.length).map((t) => redactUrl(t.url));
        options.warn?.(`s0's topology lists ${topology.shards.length} shards, DATABASE_SHARDS ${shards.length}: using s0's; add ${extra.join(', ')} to DATABASE_SHARDS`);
      }
      await set.apply(topology);
    }
    await interleaveLinkIds(set.shards.map((s) => ({ index: s.index, db: s.database.db })));
    await interleaveNotifierIds(set.shards.map((s) => ({ index: s.index, db: s.database.db })));
    return set;
  }

  /** Every shard, including one being added. */
  get shards(): readonly Shard[] {
    return this.routing.all;
  }

  get epoch(): number {
    return this.routing.epoch;
  }

  /** True while a shard is being added (keys whose owner changes have two candidates). */
  get migrating(): boolean {
    return this.routing.next !== undefined;
  }

  /** The shard a link key belongs on: its owner on the newest ring (the one being moved to). */
  shardFor(key: string): Shard {
    const r = this.routing;
    return this.byName.get((r.next ?? r.ring).lookup(key))!;
  }

  /**
   * Where `key` may be, in the order to look: its owner; while migrating and the owner changes,
   * the old owner then the new. The move commits a key on the new shard before it deletes it
   * on the old, so a miss on the old then a look at the new never misses a key that exists.
   */
  candidates(key: string): Shard[] {
    const r = this.routing;
    const old = r.ring.lookup(key);
    if (!r.next) return [this.byName.get(old)!];
    const owner = r.next.lookup(key);
    return owner === old ? [this.byName.get(old)!] : [this.byName.get(old)!, this.byName.get(owner)!];
  }

  /** The shard that owns `key` on the ring before the shard being added (the current ring when stable). */
  previousOwner(key: string): Shard {
    return this.byName.get(this.routing.ring.lookup(key))!;
  }

  /**
   * The shard owning a precomputed ring position (murmur3, seed 0, of a routing key): how
   * notifier data routes by the position carried in its ids (src/notifier/notifications/ids.ts).
   * The stable ring: notifier data is not moved by `tny shards add`, which refuses while there is
   * any, and while it runs a recipient whose owner changes cannot be created (ADR 10).
   */
  shardForHash(hash: number): Shard {
    return this.byName.get(this.routing.ring.lookupHash(hash))!;
  }

  /**
   * candidates() for a precomputed ring position: its owner; while migrating and the owner
   * changes, the old owner then the new. For moving notifier data by recipient (not wired yet:
   * `tny shards add` still refuses while notifier data exists, see ADR 10).
   */
  candidatesForHash(hash: number): Shard[] {
    const r = this.routing;
    const old = r.ring.lookupHash(hash);
    if (!r.next) return [this.byName.get(old)!];
    const owner = r.next.lookupHash(hash);
    return owner === old ? [this.byName.get(old)!] : [this.byName.get(old)!, this.byName.get(owner)!];
  }

  /** `s0`: where unsharded data and the topology live. */
  get home(): Shard {
    return this.routing.all[0]!;
  }

  get size(): number {
    return this.routing.all.length;
  }

  /** Each shard's expected share of keys (ring arcs), e.g. for `/health/detailed`. */
  shares(): Map<string, number> {
    const r = this.routing;
    return (r.next ?? r.ring).shares();
  }

  /**
   * Reads s0's topology and routes by it (one query shared by concurrent callers). True when
   * the epoch changed: a caller that missed a key retries then. With `heartbeat`, then records
   * the epoch this process routes by (TopologyWatcher): the current one, or the oldest epoch a
   * create still in flight was routed by, so the mover waits for such creates too.
   */
  refresh(heartbeat?: { processId: string; now: number }): Promise<boolean> {
    if (!heartbeat && this.refreshing) return this.refreshing;
    const before = this.routing.epoch;
    const run = (async () => {
      const topology = await this.topology.read();
      if (topology && topology.epoch > this.routing.epoch) await this.apply(topology);
      if (heartbeat) await this.topology.beat(heartbeat.processId, Math.min(this.routing.epoch, ...this.inflight.keys()), heartbeat.now);
      return this.routing.epoch !== before;
    })();
    if (!heartbeat) {
      this.refreshing = run;
      void run.catch(() => undefined).finally(() => {
        if (this.refreshing === run) this.refreshing = undefined;
      });
    }
    return run;
  }

  /**
   * Runs a create under the current epoch: until it is over, this process's heartbeat says it
   * still routes by that epoch (a row written by the old routing must be committed before
   * the mover lists keys, or another process could create the same key on the new shard).
   */
  async routed<T>(fn: () => Promise<T>): Promise<T> {
    const epoch = this.routing.epoch;
    this.inflight.set(epoch, (this.inflight.get(epoch) ?? 0) + 1);
    try {
      return await fn();
    } finally {
      const left = this.inflight.get(epoch)! - 1;
      if (left === 0) this.inflight.delete(epoch);
      else this.inflight.set(epoch, left);
    }
  }

  /** Routes by `topology` (epochs only grow; shards are only added, at the end). One at a time. */
  apply(topology: Topology): Promise<void> {
    const run = this.applying.then(() => this.applyNow(topology));
    this.applying = run.catch(() => undefined);
    return run;
  }

  private async applyNow(topology: Topology): Promise<void> {
    if (topology.epoch <= this.routing.epoch) return;
    const all = [...this.routing.all];
    if (topology.shards.length < all.length) {
      throw new Error(`s0's topology (epoch ${topology.epoch}) lists ${topology.shards.length} shards, this process has ${all.length}: removing shards is not supported`);
    }
    for (let i = all.length; i < topology.shards.length; i++) {
      const target = topology.shards[i]!;
      if (target.name !== `s${i}`) throw new Error(`s0's topology names shard ${i} ${target.name}, not s${i}`);
      if (!this.options.opener) throw new Error(`s0's topology lists shard s${i} (${redactUrl(target.url)}), which this process cannot open`);
      const shard = await this.options.opener(target, i);
      try {
        await checkIdentity(shard);
      } catch (error) {
        await shard.database.close();
        throw error;
      }
      all.push(shard);
      this.byName.set(shard.name, shard);
    }
    const stable = topology.state === 'migrating' ? all.slice(0, -1) : all;
    this.routing = {
      epoch: topology.epoch,
      all,
      ring: ringOver(stable),
      next: topology.state === 'migrating' ? ringOver(all) : undefined,
    };
  }

  /** Closes every shard's pool (all are tried; the first error is rethrown). */
  async close(): Promise<void> {
    const results = await Promise.allSettled(this.routing.all.map((s) => s.database.close()));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

function ringOver(shards: readonly Shard[]): HashRing {
  return new HashRing(
    shards.map((s) => s.name),
    { vnodes: VNODES },
  );
}

/** The database must be the shard its position says: it records its name on first use. */
export async function checkIdentity(s: Shard): Promise<void> {
  if (s.database.dialect !== 'postgres') throw new Error(`shard ${s.name} is ${s.database.dialect}: shards are PostgreSQL databases`);
  const stored = await new KyselySettingsStore(s.database.db).getOrCreate(IDENTITY_SETTING, () => s.name);
  if (stored !== s.name) {
    throw new Error(
      `DATABASE_SHARDS: entry ${s.index} (${s.label}) is shard ${stored}, not ${s.name}: the list's order changed or a database is listed twice; ` +
        'keys would go to the wrong shards',
    );
  }
}

/** DATABASE_SHARDS must be s0's topology or a prefix of it: anything else routes keys wrongly. */
function checkConfigured(shards: readonly Shard[], topology: Topology): void {
  if (shards.length > topology.shards.length) {
    throw new Error(
      `DATABASE_SHARDS lists ${shards.length} shards but s0's topology (epoch ${topology.epoch}) has ${topology.shards.length}: ` +
        'add shards with `tny shards add URL` (it moves the keys), not by editing DATABASE_SHARDS',
    );
  }
  for (const [i, s] of shards.entries()) {
    if (s.target && !sameDatabase(s.target, topology.shards[i]!)) {
      throw new Error(
        `DATABASE_SHARDS: entry ${i} (${s.label}) is not s0's topology's s${i} (${redactUrl(topology.shards[i]!.url)}): ` +
          'the configured list must be the topology or a prefix of it',
      );
    }
  }
}

export interface OpenShardSetOptions {
  poolSize: number;
  onIdleError?: (err: Error) => void;
  /** Told when s0's topology lists more shards than DATABASE_SHARDS. */
  warn?: (message: string) => void;
}

/** Opens and migrates one shard; errors name it and its (redacted) URL. */
export async function openShard(t: TopologyShard, index: number, opts: OpenShardSetOptions, opened?: Shard[]): Promise<Shard> {
  const label = redactUrl(t.url);
  let handle;
  try {
    handle = await openPostgres(t.url, { poolSize: opts.poolSize, schema: t.schema, onIdleError: opts.onIdleError });
  } catch (error) {
    throw new Error(`DATABASE_SHARDS: shard ${t.name} (${label}) cannot be opened: ${message(error)}`, { cause: error });
  }
  const target: TopologyShard = { name: t.name, url: t.url, ...(t.schema ? { schema: t.schema } : {}) };
  const shard: Shard = { name: t.name, index, label, target, database: { db: handle.db, dialect: 'postgres', close: () => handle.close() } };
  opened?.push(shard);
  try {
    await migrateToLatest(handle.db, 'postgres');
  } catch (error) {
    if (!opened) await handle.close();
    throw new Error(`DATABASE_SHARDS: shard ${t.name} (${label}) is unreachable or cannot be migrated: ${message(error)}`, { cause: error });
  }
  return shard;
}

/**
 * Opens and migrates every shard, then prepares the set. A shard that cannot be reached or
 * migrated fails the start with its name and (redacted) URL; the ones opened are closed.
 */
export async function openShardSet(targets: readonly ShardTarget[], opts: OpenShardSetOptions): Promise<ShardSet> {
  const opened: Shard[] = [];
  try {
    for (const [index, t] of targets.entries()) await openShard(t, index, opts, opened);
    return await ShardSet.prepare(opened, { opener: (t, index) => openShard(t, index, opts), ...(opts.warn ? { warn: opts.warn } : {}) });
  } catch (error) {
    await Promise.allSettled(opened.map((s) => s.database.close()));
    throw error;
  }
}

function message(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return message(error.errors[0]);
  return error instanceof Error ? error.message || error.constructor.name : String(error);
}

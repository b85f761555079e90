import { HashRing } from '../../platform/hashing/hash-ring.js';
import { openPostgres } from '../postgres/open-postgres.js';
import { KyselySettingsStore } from '../sql/kysely-settings-store.js';
import { migrateToLatest } from '../sql/migrations.js';
import type { OpenedDatabase } from '../sql/open-database.js';
import { interleaveNotifierIds } from './notifier-ids.js';
import { interleaveLinkIds } from './shard-ids.js';
import { redactUrl, type ShardTarget } from './shard-urls.js';

/** One database of the set. */
export interface Shard {
  /** `s0`, `s1`…: the ring's node id and the name stored in the database. */
  name: string;
  index: number;
  /** The URL with its password hidden, for messages and health checks. */
  label: string;
  database: OpenedDatabase;
}

/** Virtual nodes per shard on the ring (the chapter's 150): shares within a few % of equal. */
const VNODES = 150;
/** The `settings` row that records which shard a database is. */
const IDENTITY_SETTING = 'shard_name';

/**
 * The shards links are spread over (chapter §5.2): a link key's shard is its owner on a
 * consistent-hash ring whose nodes are the shard names (`s0`…), so routing depends on the
 * position in DATABASE_SHARDS, never on how a URL is spelled, and adding a shard later moves
 * only about 1/(N+1) of the keys. `s0` is also the home of everything that is not sharded
 * (accounts, API keys, settings, idempotency keys, the notifier's per-account configuration).
 */
export class ShardSet {
  readonly shards: readonly Shard[];
  private readonly ring: HashRing;
  private readonly byName: Map<string, Shard>;

  private constructor(shards: Shard[]) {
    this.shards = shards;
    this.byName = new Map(shards.map((s) => [s.name, s]));
    this.ring = new HashRing(
      shards.map((s) => s.name),
      { vnodes: VNODES },
    );
  }

  /**
   * A set over opened, migrated PostgreSQL databases (given in DATABASE_SHARDS order). Checks
   * each database is the shard its position says (recorded on first use: a reordered list or a
   * database listed twice would send keys to the wrong shard) and interleaves link ids.
   */
  static async prepare(shards: Shard[]): Promise<ShardSet> {
    if (shards.length === 0) throw new Error('a shard set needs at least one shard');
    for (const [i, s] of shards.entries()) {
      if (s.index !== i || s.name !== `s${i}`) throw new Error(`shard ${i} must be named s${i}, got ${s.name}`);
      if (s.database.dialect !== 'postgres') throw new Error(`shard ${s.name} is ${s.database.dialect}: shards are PostgreSQL databases`);
      const stored = await new KyselySettingsStore(s.database.db).getOrCreate(IDENTITY_SETTING, () => s.name);
      if (stored !== s.name) {
        throw new Error(
          `DATABASE_SHARDS: entry ${i} (${s.label}) is shard ${stored}, not ${s.name}: the list's order changed or a database is listed twice; ` +
            'keys would go to the wrong shards',
        );
      }
    }
    await interleaveLinkIds(shards.map((s) => ({ index: s.index, db: s.database.db })));
    await interleaveNotifierIds(shards.map((s) => ({ index: s.index, db: s.database.db })));
    return new ShardSet(shards);
  }

  /** The shard owning a link key. */
  shardFor(key: string): Shard {
    return this.byName.get(this.ring.lookup(key))!;
  }

  /**
   * The shard owning a precomputed ring position (murmur3, seed 0, of a routing key): how
   * notifier data routes by the position carried in its ids (src/notifier/notifications/ids.ts).
   */
  shardForHash(hash: number): Shard {
    return this.byName.get(this.ring.lookupHash(hash))!;
  }

  /** `s0`: where unsharded data lives. */
  get home(): Shard {
    return this.shards[0]!;
  }

  get size(): number {
    return this.shards.length;
  }

  /** Each shard's expected share of keys (ring arcs), e.g. for `/health/detailed`. */
  shares(): Map<string, number> {
    return this.ring.shares();
  }

  /** Closes every shard's pool (all are tried; the first error is rethrown). */
  async close(): Promise<void> {
    const results = await Promise.allSettled(this.shards.map((s) => s.database.close()));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

export interface OpenShardSetOptions {
  poolSize: number;
  onIdleError?: (err: Error) => void;
}

/**
 * Opens and migrates every shard, then prepares the set. A shard that cannot be reached or
 * migrated fails the start with its name and (redacted) URL; the ones opened are closed.
 */
export async function openShardSet(targets: readonly ShardTarget[], opts: OpenShardSetOptions): Promise<ShardSet> {
  const opened: Shard[] = [];
  try {
    for (const [index, t] of targets.entries()) {
      const label = redactUrl(t.url);
      let handle;
      try {
        handle = await openPostgres(t.url, { poolSize: opts.poolSize, schema: t.schema, onIdleError: opts.onIdleError });
      } catch (error) {
        throw new Error(`DATABASE_SHARDS: shard ${t.name} (${label}) cannot be opened: ${message(error)}`, { cause: error });
      }
      opened.push({ name: t.name, index, label, database: { db: handle.db, dialect: 'postgres', close: () => handle.close() } });
      try {
        await migrateToLatest(handle.db, 'postgres');
      } catch (error) {
        throw new Error(`DATABASE_SHARDS: shard ${t.name} (${label}) is unreachable or cannot be migrated: ${message(error)}`, { cause: error });
      }
    }
    return await ShardSet.prepare(opened);
  } catch (error) {
    await Promise.allSettled(opened.map((s) => s.database.close()));
    throw error;
  }
}

function message(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return message(error.errors[0]);
  return error instanceof Error ? error.message || error.constructor.name : String(error);
}

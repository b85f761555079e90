import { sql } from 'kysely';
import type { HealthCheck } from '../../platform/health/health.js';
import { pingCheck } from '../../platform/health/ping-check.js';
import { openDatabase, type OpenDatabaseOptions, type OpenedDatabase } from '../sql/open-database.js';
import { openShardSet, type ShardSet } from './shard-set.js';
import { shardTargets } from './shard-urls.js';

/**
 * The configured storage: with DATABASE_SHARDS, the shard set, presented as its home shard
 * (`s0`, where unsharded data lives) with `shards` set and a close() that closes every shard;
 * otherwise the single database (SQLite or DATABASE_URL) as before.
 */
export async function openStorage(
  config: { DATABASE_SHARDS: readonly string[]; DATABASE_URL?: string | undefined },
  opts: OpenDatabaseOptions,
  shardOptions: { warn?: (message: string) => void } = {},
): Promise<OpenedDatabase> {
  const targets = shardTargets(config);
  if (!targets) return openDatabase(opts);
  const set = await openShardSet(targets, { poolSize: opts.poolSize, onIdleError: opts.onIdleError, ...shardOptions });
  const home = set.home.database;
  return { db: home.db, dialect: home.dialect, shards: set, close: () => set.close() };
}

/** One `/health/detailed` check per shard (`database:s0`…): round trip, URL without password, key share. */
export function shardHealthChecks(set: ShardSet | undefined): HealthCheck[] {
  if (!set) return [];
  const shares = set.shares();
  return set.shards.map((shard) =>
    pingCheck(`database:${shard.name}`, () => sql`select 1`.execute(shard.database.db), {
      details: { shard: shard.name, engine: 'postgres', url: shard.label, key_share: Math.round((shares.get(shard.name) ?? 0) * 1000) / 1000 },
    }),
  );
}

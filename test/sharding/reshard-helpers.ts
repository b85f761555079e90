import { describe, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { openShard, ShardSet, type Shard, type ShardOpener } from '../../src/adapters/sharding/shard-set.js';
import type { TopologyShard } from '../../src/adapters/sharding/topology.js';
import { withSchemaLock } from '../helpers/databases.js';

/** Shards of a resharding test: schemas `reshard_<run>_sN` of the test database (dropped by close). */
export interface ReshardFixture {
  url: string;
  targets: TopologyShard[];
  /** The target of the shard to add (s{n}). */
  extra: TopologyShard;
  /** Opens (and migrates) a shard, under the helpers' schema lock like every test migration. */
  opener: ShardOpener;
  /** A set over the first `n` targets with its own pools, as one process would open it. */
  openSet(poolSize?: number): Promise<ShardSet>;
  close(): Promise<void>;
}

export function reshardFixture(n: number): ReshardFixture {
  const url = process.env.DATABASE_URL_TEST!;
  const run = randomBytes(4).toString('hex');
  const all = Array.from({ length: n + 1 }, (_, i) => ({ name: `s${i}`, url, schema: `reshard_${run}_s${i}` }));
  const sets: ShardSet[] = [];
  const opener = (poolSize: number): ShardOpener => (t, index) => withSchemaLock(url, 'shared', () => openShard(t, index, { poolSize }));
  return {
    url,
    targets: all.slice(0, n),
    extra: all[n]!,
    opener: opener(4),
    async openSet(poolSize = 6) {
      const opened: Shard[] = [];
      try {
        for (const [i, t] of all.slice(0, n).entries()) opened.push(await opener(poolSize)(t, i));
        const set = await ShardSet.prepare(opened, { opener: opener(poolSize) });
        sets.push(set);
        return set;
      } catch (error) {
        await Promise.allSettled(opened.map((s) => s.database.close()));
        throw error;
      }
    },
    async close() {
      await Promise.allSettled(sets.map((s) => s.close()));
      await withSchemaLock(url, 'exclusive', async (client) => {
        for (const t of all) await client.query(`DROP SCHEMA IF EXISTS "${t.schema}" CASCADE`);
      });
    },
  };
}

/**
 * `body` under a describe when DATABASE_URL_TEST is set; otherwise a failing test under
 * TNY_REQUIRE_SERVICES=1 (CI), or a printed notice.
 */
export function describeWithPostgres(title: string, body: () => void): void {
  if (process.env.DATABASE_URL_TEST) {
    describe(`${title} [postgres]`, body);
  } else if (process.env.TNY_REQUIRE_SERVICES === '1') {
    describe(`${title} [postgres]`, () => {
      it('has a PostgreSQL to run against', () => {
        throw new Error('DATABASE_URL_TEST is not set but TNY_REQUIRE_SERVICES=1 requires the resharding tests');
      });
    });
  } else {
    console.warn(`[tny] DATABASE_URL_TEST not set: "${title}" not run`);
  }
}

import { expect, it } from 'vitest';
import { ShardedIdSequence } from '../../src/adapters/sharding/sharded-id-sequence.js';
import { MAX_SHARDS } from '../../src/adapters/sharding/shard-urls.js';
import { FeistelPermutation } from '../../src/platform/ids/feistel-permutation.js';
import { CounterKeys } from '../../src/shortener/keys/counter-keys.js';
import { KEY_SPACE } from '../../src/shortener/keys/key-generator.js';
import { describeSharded, withSchemaLock } from '../helpers/databases.js';

type Range = { start: number; end: number };

function expectDisjoint(ranges: Range[]): void {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.start).toBeGreaterThanOrEqual(sorted[i - 1]!.end);
}

describeSharded('ShardedIdSequence', (open) => {
  it('gives disjoint ranges to concurrent leases of three processes over three shards, none straddling a slab', async () => {
    const t = await open();
    try {
      const slab = 100;
      const sets = [t.set, await t.connectAgain(), await t.connectAgain()];
      const sequences = sets.map((s) => new ShardedIdSequence(s, slab));
      let seed = 7;
      const size = () => 1 + ((seed = (seed * 48271) % 2147483647) % 40);
      const ranges = await Promise.all(Array.from({ length: 180 }, (_, i) => sequences[i % 3]!.lease('keys', size())));
      expectDisjoint(ranges);
      const shardsUsed = new Set<number>();
      for (const r of ranges) {
        expect(r.end).toBeGreaterThan(r.start);
        const globalSlab = Math.floor((r.start - 1) / slab);
        expect(Math.floor((r.end - 2) / slab)).toBe(globalSlab); // the last id is in the same slab
        shardsUsed.add(globalSlab % MAX_SHARDS);
      }
      expect([...shardsUsed].sort()).toEqual([0, 1, 2]);
      // Every shard holds its own sequence row.
      for (const s of t.shards) {
        const rows = await s.db.selectFrom('sequences').select(['name', 'next_value']).where('name', '=', 'keys@shard').execute();
        expect(rows).toHaveLength(1);
      }
    } finally {
      await t.close();
    }
  });

  it('keeps leasing from the other shards when one fails', async () => {
    const t = await open();
    try {
      const sequence = new ShardedIdSequence(t.set, 1000);
      for (let i = 0; i < 3; i++) await sequence.leaseOn(i, 'keys', 1); // every shard has leased before
      const location = t.shards[1]!.location;
      const schema = location.dialect === 'postgres' ? location.schema : '';
      // DDL under the helpers' schema lock (other files' migrations introspect every schema).
      await withSchemaLock(process.env.DATABASE_URL_TEST!, 'exclusive', (c) => c.query(`drop table "${schema}".sequences`));
      const ranges = await Promise.all(Array.from({ length: 30 }, () => sequence.lease('keys', 10)));
      expectDisjoint(ranges);
      for (const r of ranges) expect(Math.floor((r.start - 1) / 1000) % MAX_SHARDS).not.toBe(1);
    } finally {
      await t.close();
    }
  });

  it('starts above the ids an unsharded sequence already handed out (a single database that became s0)', async () => {
    const t = await open();
    try {
      await t.shards[0]!.db.insertInto('sequences').values({ name: 'keys', next_value: 30_000 }).execute();
      const sequence = new ShardedIdSequence(t.set, 100);
      const ranges = await Promise.all(Array.from({ length: 30 }, () => sequence.lease('keys', 10)));
      expectDisjoint(ranges);
      for (const r of ranges) expect(r.start).toBeGreaterThan(29_999);
      // 29,999 ids issued, 25,600 ids per slab round of 256 shards: the shards start in round 2.
      expect(Math.min(...ranges.map((r) => r.start))).toBeLessThanOrEqual(2 * 25_600 + 3 * 100);
    } finally {
      await t.close();
    }
  });

  it('rejects sizes that are not positive or exceed a slab', async () => {
    const t = await open();
    try {
      const sequence = new ShardedIdSequence(t.set, 50);
      await expect(sequence.lease('keys', 0)).rejects.toThrow(RangeError);
      await expect(sequence.lease('keys', 51)).rejects.toThrow(/larger than a shard's slab/);
      expect((await sequence.lease('keys', 50)).end).toBeGreaterThan(0);
    } finally {
      await t.close();
    }
  });

  it('makes counter keys unique across processes without any cross-shard check', async () => {
    const t = await open();
    try {
      const perm = new FeistelPermutation(KEY_SPACE, 'shard-test');
      const generators = [t.set, await t.connectAgain()].map((s) => new CounterKeys(new ShardedIdSequence(s, 1 << 20), perm, 37));
      const keys = await Promise.all(Array.from({ length: 3000 }, (_, i) => generators[i % 2]!.candidate()));
      expect(new Set(keys).size).toBe(3000);
    } finally {
      await t.close();
    }
  });
});

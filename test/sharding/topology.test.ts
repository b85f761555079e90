import { describe, expect, it } from 'vitest';
import { ringOf, summarize } from '../../src/adapters/sharding/reshard-plan.js';
import { sameDatabase, TopologyStore, type Topology } from '../../src/adapters/sharding/topology.js';
import { describeEachDatabase, useFreshDatabase } from '../helpers/databases.js';

describe('the resharding plan (consistent hashing, 150 vnodes, murmur3)', () => {
  it.each([
    [1, 0.5],
    [3, 0.25],
    [7, 0.125],
  ])('adding a shard to %i moves about 1/(N+1) of 100,000 keys, all of them to the new shard', (n, expected) => {
    const before = ringOf(n);
    const after = ringOf(n + 1);
    let moved = 0;
    for (let i = 0; i < 100_000; i++) {
      const key = `key-${i}`;
      const from = before.lookup(key);
      const to = after.lookup(key);
      if (from === to) continue;
      moved++;
      expect(to, `${key} moved from ${from} to ${to}, not to the new shard`).toBe(`s${n}`);
    }
    const plan = summarize(n, [{ shard: 's0', keys: 100_000, moving: moved }]);
    expect(plan.expected).toBeCloseTo(expected, 10);
    // Ring arcs with 150 vnodes are within a few % of equal: the moved share is near 1/(N+1).
    expect(Math.abs(plan.fraction - expected)).toBeLessThan(0.035);
  });

  it('compares shard URLs by host, port, database and schema, not by spelling or password', () => {
    expect(sameDatabase({ name: 's0', url: 'postgres://a:x@h/db' }, { name: 's0', url: 'postgresql://b:y@h:5432/db' })).toBe(true);
    expect(sameDatabase({ name: 's0', url: 'postgres://h/db' }, { name: 's0', url: 'postgres://h/other' })).toBe(false);
    expect(sameDatabase({ name: 's0', url: 'postgres://h/db', schema: 'a' }, { name: 's0', url: 'postgres://h/db', schema: 'b' })).toBe(false);
  });
});

describeEachDatabase('TopologyStore', (factory) => {
  const db = useFreshDatabase(factory);
  const stable: Topology = { epoch: 1, state: 'stable', shards: [{ name: 's0', url: 'postgres://h/a' }] };
  const migrating: Topology = { epoch: 2, state: 'migrating', shards: [...stable.shards, { name: 's1', url: 'postgres://h/b', schema: 'x' }] };

  it('stores the topology compare-and-set on the epoch', async () => {
    const store = new TopologyStore(db().db);
    expect(await store.read()).toBeUndefined();
    expect(await store.write(stable, undefined, 10)).toBe(true);
    expect(await store.write(stable, undefined, 10)).toBe(false); // the row exists already
    expect(await store.read()).toEqual(stable);
    expect(await store.write(migrating, 0, 11)).toBe(false); // stale expectation
    expect(await store.write(migrating, 1, 11)).toBe(true);
    expect(await store.read()).toEqual(migrating);
    await expect(store.write(stable, 2, 12)).rejects.toThrow(/epoch must grow/);
  });

  it('keeps one heartbeat per process; live ones are those seen since a time; forget removes', async () => {
    const store = new TopologyStore(db().db);
    await store.beat('p1', 1, 1000);
    await store.beat('p2', 1, 1500);
    await store.beat('p1', 2, 2000);
    expect(await store.heartbeats(0)).toEqual([
      { processId: 'p1', epoch: 2, seenAt: 2000 },
      { processId: 'p2', epoch: 1, seenAt: 1500 },
    ]);
    expect((await store.heartbeats(1600)).map((h) => h.processId)).toEqual(['p1']);
    await store.forget('p1', 0);
    expect((await store.heartbeats(0)).map((h) => h.processId)).toEqual(['p2']);
    await store.forget('nobody', 1600); // and heartbeats older than 1600
    expect(await store.heartbeats(0)).toEqual([]);
  });
});

import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ID_STRIDE, firstIdAbove } from '../../src/adapters/sharding/shard-ids.js';
import { openShardSet, type ShardSet } from '../../src/adapters/sharding/shard-set.js';
import { shardTargets, type ShardTarget } from '../../src/adapters/sharding/shard-urls.js';
import { ShardedLinkRepository } from '../../src/adapters/sharding/sharded-link-repository.js';
import { describeSharded, withSchemaLock } from '../helpers/databases.js';
import { newLink } from '../helpers/new-link.js';

describe('shardTargets (DATABASE_SHARDS)', () => {
  const none = { DATABASE_SHARDS: [] as string[] };
  it.each([
    [{ ...none, DATABASE_SHARDS: ['postgres://h/a', 'not a url'] }, /DATABASE_SHARDS: entry 1 \(s1\) is not a URL/],
    [{ ...none, DATABASE_SHARDS: ['postgres://h/a', 'mysql://h/b'] }, /entry 1 \(s1, mysql:\/\/h\/b\) must start with postgres/],
    [{ ...none, DATABASE_SHARDS: ['postgres://h/a', 'postgres://h:5432/a'] }, /entries 0 and 1 are the same database/],
    [{ DATABASE_SHARDS: ['postgres://h/a'], DATABASE_URL: 'postgres://h/b' }, /DATABASE_SHARDS and DATABASE_URL are both set/],
    [{ ...none, DATABASE_SHARDS: Array.from({ length: 257 }, (_, i) => `postgres://h/d${i}`) }, /at most 256 shards/],
  ])('%j fails: %s', (config, message) => {
    expect(() => shardTargets(config)).toThrow(message);
  });

  it('names shards by position and hides passwords in messages', () => {
    expect(shardTargets(none)).toBeUndefined();
    expect(shardTargets({ DATABASE_SHARDS: ['postgres://u:pw@h/a', 'postgresql://h/b'] })).toEqual([
      { name: 's0', url: 'postgres://u:pw@h/a' },
      { name: 's1', url: 'postgresql://h/b' },
    ]);
    expect(() => shardTargets({ DATABASE_SHARDS: ['postgres://u:secret@h/a', 'http://u:secret@h/b'] })).toThrow(/u:\*\*\*@h/);
  });

  it('firstIdAbove picks the next id of the shard residue class', () => {
    expect(firstIdAbove(0, 0)).toBe(1);
    expect(firstIdAbove(0, 2)).toBe(3);
    expect(firstIdAbove(1, 0)).toBe(1 + ID_STRIDE);
    expect(firstIdAbove(1000, 5) % ID_STRIDE).toBe(6);
    expect(firstIdAbove(1000, 5)).toBeGreaterThan(1000);
    expect(firstIdAbove(1000, 5) - 1000).toBeLessThanOrEqual(ID_STRIDE);
    expect(firstIdAbove(0, ID_STRIDE - 1) % ID_STRIDE).toBe(0);
  });
});

const url = process.env.DATABASE_URL_TEST;

describeSharded('ShardSet', (open) => {
  const schemas: string[] = [];
  const sets: ShardSet[] = [];
  afterEach(async () => {
    for (const s of sets.splice(0)) await s.close();
    // Under the helpers' schema lock: another file's migration introspects every schema.
    await withSchemaLock(url!, 'exclusive', async (client) => {
      for (const s of schemas.splice(0)) await client.query(`drop schema if exists "${s}" cascade`);
    });
  });
  const targets = (n: number): ShardTarget[] =>
    Array.from({ length: n }, (_, i) => {
      const schema = `tny_shard_${randomBytes(5).toString('hex')}`;
      schemas.push(schema);
      return { name: `s${i}`, url: url!, schema };
    });
  const opened = async (t: ShardTarget[]) => {
    const set = await withSchemaLock(url!, 'shared', () => openShardSet(t, { poolSize: 4 }));
    sets.push(set);
    return set;
  };

  it('fails at start naming an unreachable shard, and closes the ones it opened', async () => {
    const [good] = targets(1);
    const bad: ShardTarget = { name: 's1', url: 'postgres://tny:secret@127.0.0.1:1/nowhere' };
    await expect(withSchemaLock(url!, 'shared', () => openShardSet([good!, bad], { poolSize: 2 }))).rejects.toThrow(
      /DATABASE_SHARDS: shard s1 \(postgres:\/\/tny:\*\*\*@127\.0\.0\.1:1\/nowhere\) is unreachable or cannot be migrated: .*ECONNREFUSED/,
    );
  });

  it('refuses the same databases in another order (keys would route to the wrong shards)', async () => {
    const t = targets(3);
    await (await opened(t)).close();
    sets.length = 0;
    const swapped = [t[1]!, t[0]!, t[2]!].map((x, i) => ({ ...x, name: `s${i}` }));
    await expect(withSchemaLock(url!, 'shared', () => openShardSet(swapped, { poolSize: 2 }))).rejects.toThrow(/entry 0 \(.*\) is shard s1, not s0: the list's order changed/);
    const again = await opened(t);
    expect(again.size).toBe(3);
  });

  it('routes every key to one shard, the same in every process, about evenly', async () => {
    const t = await open();
    try {
      const other = await t.connectAgain();
      const counts = new Map<string, number>();
      for (let i = 0; i < 3000; i++) {
        const key = `k${i.toString(36)}`;
        const shard = t.set.shardFor(key).name;
        expect(other.shardFor(key).name).toBe(shard);
        counts.set(shard, (counts.get(shard) ?? 0) + 1);
      }
      expect([...counts.keys()].sort()).toEqual(['s0', 's1', 's2']);
      for (const n of counts.values()) expect(n / 3000).toBeGreaterThan(0.25);
      const repo = new ShardedLinkRepository(t.set);
      const keys = Array.from({ length: 60 }, (_, i) => `r${i}`);
      await repo.insertMany(keys.map((k) => newLink(k)));
      for (const [i, shard] of t.shards.entries()) {
        const stored = (await shard.db.selectFrom('short_urls').select('short_key').execute()).map((r) => r.short_key);
        expect(stored.sort()).toEqual(keys.filter((k) => t.set.shardFor(k).index === i).sort());
      }
    } finally {
      await t.close();
    }
  });

  it('keeps keys unique with only the owning shard checking: two processes racing on the same 90 keys', async () => {
    const t = await open();
    try {
      const a = new ShardedLinkRepository(t.set);
      const b = new ShardedLinkRepository(await t.connectAgain());
      const keys = Array.from({ length: 90 }, (_, i) => `race${i}`);
      const results = await Promise.all(
        keys.flatMap((k) => [a.insert(newLink(k, { url: 'https://a.example/' })), b.insert(newLink(k, { url: 'https://b.example/' }))]),
      );
      for (let i = 0; i < keys.length; i++) {
        const pair = [results[2 * i], results[2 * i + 1]];
        expect(pair.filter((r) => r === 'conflict')).toHaveLength(1);
        const winner = pair.find((r) => r !== 'conflict');
        if (!winner) throw new Error('no winner');
        expect((await a.findByKey(keys[i]!))?.url).toBe(winner.url);
      }
      let stored = 0;
      for (const shard of t.shards) stored += (await shard.db.selectFrom('short_urls').select('id').execute()).length;
      expect(stored).toBe(90);
    } finally {
      await t.close();
    }
  });

  it('gives link ids that never collide across shards, each in its shard residue class', async () => {
    const t = await open();
    try {
      const repo = new ShardedLinkRepository(t.set);
      const other = new ShardedLinkRepository(await t.connectAgain());
      const results = await Promise.all(Array.from({ length: 300 }, (_, i) => (i % 2 ? repo : other).insert(newLink(`id${i}`))));
      const ids = results.map((r) => (r === 'conflict' ? -1 : r.id));
      expect(new Set(ids).size).toBe(300);
      for (const r of results) {
        if (r === 'conflict') throw new Error('unexpected conflict');
        expect(r.id % ID_STRIDE).toBe(t.set.shardFor(r.key).index + 1);
      }
    } finally {
      await t.close();
    }
  });

  it('starts a shard above ids that existed before the set, and two processes preparing at once agree', async () => {
    const t = targets(3);
    // s1 already holds links (e.g. it was a single database before): ids 1..40.
    const first = await opened([t[1]!].map((x) => ({ ...x, name: 's0' })));
    await new ShardedLinkRepository(first).insertMany(Array.from({ length: 40 }, (_, i) => newLink(`old${i}`)));
    const before = await first.shards[0]!.database.db.selectFrom('short_urls').select('id').execute();
    await first.close();
    sets.length = 0;
    // Identity s0 is recorded in that schema: clear it to reuse the database as s1.
    await withSchemaLock(url!, 'exclusive', async (client) => {
      await client.query(`delete from "${t[1]!.schema}".settings where name = 'shard_name'`);
      await client.query(`alter sequence "${t[1]!.schema}".short_urls_id_seq increment by 1`);
    });

    const [a, b] = await Promise.all([opened(t), opened(t)]);
    const ids = await Promise.all(
      Array.from({ length: 120 }, (_, i) => new ShardedLinkRepository(i % 2 ? a! : b!).insert(newLink(`new${i}`))),
    );
    const all = [...before.map((r) => Number(r.id)), ...ids.map((r) => (r === 'conflict' ? -1 : r.id))];
    expect(new Set(all).size).toBe(160);
    const highestOld = Math.max(...before.map((r) => Number(r.id)));
    for (const r of ids) if (r !== 'conflict') expect(r.id).toBeGreaterThan(highestOld);
  });
});

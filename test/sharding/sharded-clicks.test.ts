import { expect, it } from 'vitest';
import { ShardedClickFlushes } from '../../src/adapters/sharding/sharded-click-flushes.js';
import { ShardedClickRepository } from '../../src/adapters/sharding/sharded-click-repository.js';
import { ShardedLinkRepository } from '../../src/adapters/sharding/sharded-link-repository.js';
import { shardOfLink } from '../../src/adapters/sharding/split-clicks.js';
import type { ClickAggregate } from '../../src/shortener/clicks.js';
import type { Link } from '../../src/shortener/link.js';
import { describeSharded, withSchemaLock, type TestShards } from '../helpers/databases.js';
import { newLink } from '../helpers/new-link.js';

const DAY = '2026-01-02';

function click(linkId: number, clicks: number, overrides: Partial<ClickAggregate> = {}): ClickAggregate {
  return { linkId, day: DAY, referrer: '', browser: 'Firefox', os: 'Linux', bot: false, clicks, ...overrides };
}

async function setup(t: TestShards): Promise<Link[]> {
  const links = new ShardedLinkRepository(t.set);
  const made = await links.insertMany(Array.from({ length: 30 }, (_, i) => newLink(`c${i}`)));
  return made.map((l) => {
    if (l === 'conflict') throw new Error('unexpected conflict');
    return l;
  });
}

/** Each link's stored click_count and rollup total, read from its own shard. */
async function stored(t: TestShards, link: Link): Promise<{ count: number; rollups: number }> {
  const db = t.shards[t.set.shardFor(link.key).index]!.db;
  const row = await db.selectFrom('short_urls').select('click_count').where('id', '=', link.id).executeTakeFirstOrThrow();
  const sum = await db
    .selectFrom('click_rollups')
    .select((eb) => eb.fn.sum<number>('clicks').as('n'))
    .where('link_id', '=', link.id)
    .executeTakeFirst();
  return { count: Number(row.click_count), rollups: Number(sum?.n ?? 0) };
}

/**
 * Makes a shard's click writes fail (and undoes it): DDL, so under the helpers' schema lock
 * (another file's migration introspects every schema and fails if a table is renamed meanwhile).
 */
const rename = (t: TestShards, i: number, from: string, to: string) => {
  const schema = t.shards[i]!.location.dialect === 'postgres' ? t.shards[i]!.location.schema : '';
  return withSchemaLock(process.env.DATABASE_URL_TEST!, 'exclusive', (c) => c.query(`alter table "${schema}".${from} rename to ${to}`));
};
const breakShard = (t: TestShards, i: number) => rename(t, i, 'click_rollups', 'click_rollups_off');
const mendShard = (t: TestShards, i: number) => rename(t, i, 'click_rollups_off', 'click_rollups');

describeSharded('Sharded clicks', (open) => {
  it('writes each link clicks on its own shard, routed by id or by key, and reads stats there', async () => {
    const t = await open();
    try {
      const links = await setup(t);
      const clicks = new ShardedClickRepository(t.set);
      await clicks.addClicks({ rollups: links.map((l, i) => click(l.id, i + 1)), counts: new Map(links.map((l, i) => [l.id, i + 1])) });
      const keys = new Map(links.map((l) => [l.id, l.key]));
      await clicks.addClicks({ rollups: links.map((l) => click(l.id, 100, { bot: true })), counts: new Map(), keys });
      for (const [i, l] of links.entries()) {
        expect(shardOfLink(t.set, l.id, undefined)).toBe(t.set.shardFor(l.key));
        expect(await stored(t, l)).toEqual({ count: i + 1, rollups: i + 101 });
        expect(await clicks.stats(l.id, DAY, DAY)).toMatchObject({ total: i + 101, humans: i + 1, bots: 100 });
      }
      // Rollups exist only on the shard of their link.
      for (const [index, shard] of t.shards.entries()) {
        const ids = (await shard.db.selectFrom('click_rollups').select('link_id').execute()).map((r) => Number(r.link_id));
        for (const id of ids) expect(shardOfLink(t.set, id, undefined).index).toBe(index);
      }
    } finally {
      await t.close();
    }
  });

  it('keeps the part of a failed shard, counts it as pending, and writes it once the shard is back: nothing twice', async () => {
    const t = await open();
    try {
      const links = await setup(t);
      const onBroken = links.find((l) => t.set.shardFor(l.key).index === 1)!;
      const clicks = new ShardedClickRepository(t.set);
      await breakShard(t, 1);
      const batch = () => ({ rollups: links.map((l) => click(l.id, 2)), counts: new Map(links.map((l) => [l.id, 2])) });
      await clicks.addClicks(batch()); // resolves: shards 0 and 2 committed, shard 1's part is held
      expect(clicks.heldAggregates()).toBeGreaterThan(0);
      expect(clicks.pendingCount(onBroken.id)).toBe(2);
      await clicks.addClicks(batch());
      expect(clicks.pendingCount(onBroken.id)).toBe(4);
      await expect(clicks.settle()).rejects.toThrow();
      expect(clicks.pendingCount(onBroken.id)).toBe(4);
      await mendShard(t, 1);
      expect((await clicks.stats(onBroken.id, DAY, DAY)).total).toBe(4); // held rows count as extra
      await clicks.settle();
      expect(clicks.pendingCount(onBroken.id)).toBe(0);
      expect(clicks.heldAggregates()).toBe(0);
      for (const l of links) expect(await stored(t, l)).toEqual({ count: 4, rollups: 4 });
    } finally {
      await t.close();
    }
  });

  it('rejects (so the caller keeps the batch) only when no shard could take its part', async () => {
    const t = await open();
    try {
      const links = await setup(t);
      const clicks = new ShardedClickRepository(t.set);
      for (let i = 0; i < 3; i++) await breakShard(t, i);
      await expect(clicks.addClicks({ rollups: links.map((l) => click(l.id, 1)), counts: new Map() })).rejects.toThrow();
      expect(clicks.heldAggregates()).toBe(0);
      for (let i = 0; i < 3; i++) await mendShard(t, i);
      await clicks.addClicks({ rollups: links.map((l) => click(l.id, 1)), counts: new Map(links.map((l) => [l.id, 1])) });
      for (const l of links) expect(await stored(t, l)).toEqual({ count: 1, rollups: 1 });
    } finally {
      await t.close();
    }
  });

  it('applies a Redis flush exactly once per shard, also when a shard failed the first time', async () => {
    const t = await open();
    try {
      const links = await setup(t);
      const flushes = new ShardedClickFlushes(t.set);
      const keys = new Map(links.map((l) => [l.id, l.key]));
      const batch = { rollups: links.map((l) => click(l.id, 3)), counts: new Map(links.map((l) => [l.id, 3])), keys };
      await breakShard(t, 2);
      await expect(flushes.apply('f1', batch, 1)).rejects.toThrow();
      expect(await flushes.isApplied('f1')).toBe(false);
      await mendShard(t, 2);
      expect(await flushes.apply('f1', batch, 2)).toBe(true); // only shard 2 writes now
      expect(await flushes.isApplied('f1')).toBe(true);
      expect(await flushes.apply('f1', batch, 3)).toBe(false);
      for (const l of links) expect(await stored(t, l)).toEqual({ count: 3, rollups: 3 });
      expect(await flushes.prune(10)).toBe(3);
    } finally {
      await t.close();
    }
  });
});

import { expect, it } from 'vitest';
import { KyselyLinkRepository } from '../../src/adapters/sql/kysely-link-repository.js';
import { ShardedLinkRepository } from '../../src/adapters/sharding/sharded-link-repository.js';
import type { LinkListQuery, LinkPage, NewLink } from '../../src/shortener/link.js';
import type { LinkRepository } from '../../src/shortener/ports.js';
import { describeSharded, postgresFactory, type TestDatabase, type TestShards } from '../helpers/databases.js';
import { newLink, T0 } from '../helpers/new-link.js';
import { seededRandom } from '../../bench/lib/keys.js';

/** Deterministic PRNG (mulberry32, shared with the benchmarks), so a failure can be replayed. */
const prng = seededRandom;

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_';

/** 400 links with many ties in created_at and clicks, mixed-case keys, three accounts, tags. */
function dataset(): (NewLink & { clicks: number })[] {
  const random = prng(5);
  const keys = new Set<string>();
  while (keys.size < 400) {
    const len = 2 + Math.floor(random() * 6);
    let k = '';
    for (let i = 0; i < len; i++) k += ALPHABET[Math.floor(random() * ALPHABET.length)];
    keys.add(k);
  }
  return [...keys].map((key, i) => ({
    ...newLink(key, {
      createdAt: T0 + Math.floor(random() * 12) * 1000,
      accountId: 1 + (i % 3),
      tags: random() < 0.3 ? ['hot'] : [],
      url: `https://example.com/${random() < 0.2 ? 'docs' : 'page'}/${i}`,
    }),
    clicks: Math.floor(random() * 6),
  }));
}

async function load(repo: LinkRepository, dbOf: (key: string) => TestDatabase, links: ReturnType<typeof dataset>): Promise<void> {
  const results = await repo.insertMany(links);
  expect(results.filter((r) => r === 'conflict')).toEqual([]);
  for (const l of links) {
    if (l.clicks > 0) await dbOf(l.key).db.updateTable('short_urls').set({ click_count: l.clicks }).where('short_key', '=', l.key).execute();
  }
}

/** Every page of a query, as (keys, cursor) pairs. */
async function pages(repo: LinkRepository, query: Omit<LinkListQuery, 'after'>): Promise<{ keys: string[]; next: LinkPage['next'] }[]> {
  const out: { keys: string[]; next: LinkPage['next'] }[] = [];
  let after: LinkListQuery['after'];
  for (let i = 0; i < 1000; i++) {
    const page = await repo.list({ ...query, ...(after ? { after } : {}) });
    out.push({ keys: page.items.map((l) => l.key), next: page.next });
    if (!page.next) return out;
    after = page.next;
  }
  throw new Error('pagination did not end');
}

const QUERIES: Omit<LinkListQuery, 'after'>[] = [
  { sort: 'created_at', order: 'asc', limit: 7 },
  { sort: 'created_at', order: 'desc', limit: 50 },
  { sort: 'clicks', order: 'desc', limit: 13 },
  { sort: 'clicks', order: 'asc', limit: 1 },
  { sort: 'created_at', order: 'asc', limit: 400 },
  { sort: 'created_at', order: 'desc', limit: 399 },
  { accountId: 2, sort: 'clicks', order: 'asc', limit: 9 },
  { tag: 'hot', sort: 'created_at', order: 'desc', limit: 6 },
  { text: 'docs', sort: 'clicks', order: 'desc', limit: 5 },
  { createdFrom: T0 + 3000, createdTo: T0 + 7000, accountId: 3, sort: 'created_at', order: 'asc', limit: 4 },
];

describeSharded('Sharded list against one database with the same links', (open) => {
  it('gives exactly the same pages and cursors for every sort, order, limit and filter', { timeout: 60_000 }, async () => {
    const links = dataset();
    const single = await postgresFactory(process.env.DATABASE_URL_TEST!).open();
    let shards: TestShards | undefined;
    try {
      shards = await open();
      const t = shards;
      const one = new KyselyLinkRepository(single.db, 'postgres');
      const many = new ShardedLinkRepository(t.set);
      await load(one, () => single, links);
      await load(many, (key) => t.shards[t.set.shardFor(key).index]!, links);
      // The data really is spread: every shard holds a good part of it.
      for (const s of t.shards) {
        const n = await s.db.selectFrom('short_urls').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        expect(Number(n.n)).toBeGreaterThan(80);
      }
      for (const query of QUERIES) {
        const expected = await pages(one, query);
        const got = await pages(many, query);
        expect({ query, got }).toEqual({ query, got: expected });
        expect(expected.flatMap((p) => p.keys).length).toBeGreaterThan(0);
      }
      // A cursor at any item (here every 37th of the global order) continues with the same page.
      const all = (await pages(one, { sort: 'clicks', order: 'asc', limit: 400 })).flatMap((p) => p.keys);
      const byKey = new Map(links.map((l) => [l.key, l]));
      for (let i = 0; i < all.length; i += 37) {
        const at = byKey.get(all[i]!)!;
        const after = { sort: 'clicks' as const, order: 'asc' as const, value: at.clicks, key: at.key };
        const query = { sort: 'clicks' as const, order: 'asc' as const, limit: 11, after };
        const mine = await many.list(query);
        expect(mine.items.map((l) => l.key)).toEqual(all.slice(i + 1, i + 12));
        const theirs = await one.list(query);
        expect(mine.next).toEqual(theirs.next);
        // Same links, field for field, except ids (each database numbers its own).
        expect(mine.items.map((l) => ({ ...l, id: 0 }))).toEqual(theirs.items.map((l) => ({ ...l, id: 0 })));
      }
    } finally {
      await shards?.close();
      await single.close();
    }
  });
});

describeSharded('Sharded list when one shard holds all the matches', (open) => {
  it('still gives a cursor when the page is filled by a shard that has more', async () => {
    const t = await open();
    try {
      const repo = new ShardedLinkRepository(t.set);
      const keys: string[] = [];
      for (let i = 0; keys.length < 10; i++) if (t.set.shardFor(`only${i}`).index === 1) keys.push(`only${i}`);
      await repo.insertMany(keys.map((k, i) => newLink(k, { accountId: 9, createdAt: T0 + i })));
      await repo.insertMany(['x', 'y', 'z'].map((k) => newLink(k, { accountId: 8 })));
      const first = await repo.list({ accountId: 9, sort: 'created_at', order: 'asc', limit: 5 });
      expect(first.items.map((l) => l.key)).toEqual(keys.slice(0, 5));
      expect(first.next).toMatchObject({ value: T0 + 4, key: keys[4] });
      const second = await repo.list({ accountId: 9, sort: 'created_at', order: 'asc', limit: 5, after: first.next! });
      expect(second.items.map((l) => l.key)).toEqual(keys.slice(5));
      expect(second.next).toBeNull();
    } finally {
      await t.close();
    }
  });
});

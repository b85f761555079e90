import { beforeEach, describe, expect, it } from 'vitest';
import type { Link, LinkListQuery, NewLink } from '../../src/shortener/link.js';
import { describeEachLinkStore, useFreshLinkStore } from '../helpers/databases.js';
import { newLink, T0 } from '../helpers/new-link.js';

const byCode = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** 23 links: created_at in groups of 5 equal values, click counts with ties, mixed-case keys. */
const LINKS: (NewLink & { clicks: number })[] = Array.from({ length: 23 }, (_, i) => ({
  ...newLink(`${i % 2 ? 'K' : 'k'}${String.fromCharCode(97 + ((i * 7) % 23))}${i}`, {
    createdAt: T0 + Math.floor(i / 5) * 1000,
    accountId: i % 3 === 0 ? 2 : 1,
    tags: i % 4 === 0 ? ['all', 'four'] : ['all'],
  }),
  clicks: i % 4,
}));

function expected(sort: 'created_at' | 'clicks', order: 'asc' | 'desc', keep: (l: (typeof LINKS)[number]) => boolean = () => true): string[] {
  const value = (l: (typeof LINKS)[number]) => (sort === 'clicks' ? l.clicks : l.createdAt);
  const asc = LINKS.filter(keep).sort((a, b) => value(a) - value(b) || byCode(a.key, b.key));
  return (order === 'asc' ? asc : asc.reverse()).map((l) => l.key);
}

describeEachLinkStore('LinkRepository.list contract', (factory) => {
  const store = useFreshLinkStore(factory);
  const repo = () => store().links;

  /** Walks every page; checks page sizes and that only the last page has no cursor. */
  async function allPages(query: Omit<LinkListQuery, 'after'>): Promise<Link[]> {
    const seen: Link[] = [];
    let after: LinkListQuery['after'];
    for (let pages = 0; pages < 100; pages++) {
      const page = await repo().list({ ...query, ...(after ? { after } : {}) });
      seen.push(...page.items);
      if (!page.next) return seen;
      expect(page.items).toHaveLength(query.limit);
      expect(page.next).toMatchObject({ sort: query.sort, order: query.order, key: page.items.at(-1)?.key });
      after = page.next;
    }
    throw new Error('pagination did not end');
  }

  describe('pagination and filters over tied values', () => {
    beforeEach(async () => {
      await repo().insertMany([...LINKS].reverse());
      for (const l of LINKS) {
        await store().databaseOf(l.key).db.updateTable('short_urls').set({ click_count: l.clicks }).where('short_key', '=', l.key).execute();
      }
    });

    it.each([
      ['created_at', 'asc', 4],
      ['created_at', 'desc', 4],
      ['created_at', 'asc', 1],
      ['clicks', 'asc', 5],
      ['clicks', 'desc', 3],
      ['created_at', 'desc', 23],
    ] as const)('sort %s %s, %i per page: every link exactly once, in order', async (sort, order, limit) => {
      const items = await allPages({ sort, order, limit });
      expect(items.map((l) => l.key)).toEqual(expected(sort, order));
    });

    it('gives no cursor when the last page is exactly full', async () => {
      const page = await repo().list({ sort: 'created_at', order: 'asc', limit: 23 });
      expect(page.items).toHaveLength(23);
      expect(page.next).toBeNull();
      const twoPages = await allPages({ sort: 'created_at', order: 'asc', limit: 20 });
      expect(twoPages).toHaveLength(23);
    });

    it('continues strictly after a cursor inside a group of ties', async () => {
      const order = expected('created_at', 'asc');
      const pivot = order[7] ?? '';
      const page = await repo().list({
        sort: 'created_at',
        order: 'asc',
        limit: 4,
        after: { sort: 'created_at', order: 'asc', value: T0 + 1000, key: pivot },
      });
      expect(page.items.map((l) => l.key)).toEqual(order.slice(8, 12));
    });

    it('filters by account, tag and creation window (from inclusive, to exclusive)', async () => {
      const account = await allPages({ accountId: 2, sort: 'created_at', order: 'desc', limit: 3 });
      expect(account.map((l) => l.key)).toEqual(expected('created_at', 'desc', (l) => l.accountId === 2));

      const tagged = await allPages({ tag: 'four', sort: 'clicks', order: 'asc', limit: 2 });
      expect(tagged.map((l) => l.key)).toEqual(expected('clicks', 'asc', (l) => l.tags.includes('four')));
      expect(tagged.every((l) => l.tags.join() === 'all,four')).toBe(true);

      const everyTagged = await allPages({ tag: 'all', sort: 'created_at', order: 'asc', limit: 7 });
      expect(everyTagged).toHaveLength(23);
      expect((await repo().list({ tag: 'none', sort: 'created_at', order: 'asc', limit: 5 })).items).toEqual([]);

      const window = await allPages({ createdFrom: T0 + 1000, createdTo: T0 + 3000, sort: 'created_at', order: 'asc', limit: 4 });
      expect(window.map((l) => l.key)).toEqual(expected('created_at', 'asc', (l) => l.createdAt >= T0 + 1000 && l.createdAt < T0 + 3000));

      const combined = await allPages({ accountId: 1, tag: 'four', createdFrom: T0 + 1000, sort: 'clicks', order: 'desc', limit: 1 });
      expect(combined.map((l) => l.key)).toEqual(
        expected('clicks', 'desc', (l) => l.accountId === 1 && l.tags.includes('four') && l.createdAt >= T0 + 1000),
      );
    });
  });

  describe('text search', () => {
    beforeEach(async () => {
      await repo().insertMany([
        newLink('pct', { url: 'https://x.example/50%off' }),
        newLink('nopct', { url: 'https://x.example/50off' }),
        newLink('under', { url: 'https://x.example/a_b' }),
        newLink('nounder', { url: 'https://x.example/axb' }),
        newLink('bang', { url: 'https://x.example/wow!' }),
        newLink('nobang', { url: 'https://x.example/wow' }),
        newLink('MiXeD', { url: 'https://y.example/' }),
      ]);
    });

    const search = async (text: string) =>
      (await repo().list({ text, sort: 'created_at', order: 'asc', limit: 50 })).items.map((l) => l.key).sort(byCode);

    it.each([
      ['50%', ['pct']],
      ['A_B', ['under']],
      ['wow!', ['bang']],
      ['X.EXAMPLE/50', ['nopct', 'pct']],
      ['mixed', ['MiXeD']],
      ['nOuNd', ['nounder']],
      ['Y.example', ['MiXeD']],
      ['%', ['pct']],
      ['_', ['under']],
      ['absent', []],
    ])('%j matches %j (case-insensitive, wildcards literal)', async (text, keys) => {
      expect(await search(text)).toEqual(keys);
    });
  });
});

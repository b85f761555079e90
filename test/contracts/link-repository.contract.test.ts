import { describe, expect, it } from 'vitest';
import { describeEachLinkStore, useFreshLinkStore } from '../helpers/databases.js';
import { newLink, T0 } from '../helpers/new-link.js';
import { runSqlWorkers, WORKER_START_DELAY_MS } from '../helpers/spawn-sql-workers.js';

describeEachLinkStore('LinkRepository contract', (factory) => {
  const store = useFreshLinkStore(factory);
  const repo = () => store().links;

  describe('insert and findByKey', () => {
    it('stores every field and returns tags deduplicated and sorted', async () => {
      const input = newLink('abc', {
        url: 'https://example.com/a?b=c',
        accountId: 7,
        createdAt: T0 + 5,
        updatedAt: T0 + 6,
        expiresAt: T0 + 1_000_000_000_000,
        maxClicks: 3,
        redirectStatus: 308,
        passwordHash: 'scrypt$xyz',
        tags: ['zeta', 'alpha', 'zeta', 'Mid'],
        forwardQuery: true,
        disabled: true,
      });
      const created = await repo().insert(input);
      if (created === 'conflict') throw new Error('unexpected conflict');
      expect(created).toEqual({ ...input, id: created.id, clickCount: 0, tags: ['Mid', 'alpha', 'zeta'] });
      expect(typeof created.id).toBe('number');
      expect(await repo().findByKey('abc')).toEqual(created);
      expect(await repo().findByKey('ABC')).toBeUndefined();
    });

    it("returns 'conflict' for a taken key and leaves the first link untouched", async () => {
      const first = await repo().insert(newLink('dup', { tags: ['one'] }));
      expect(await repo().insert(newLink('dup', { url: 'https://other.example/', tags: ['two'] }))).toBe('conflict');
      expect(await repo().findByKey('dup')).toEqual(first);
      const tags = await store().databaseOf('dup').db.selectFrom('link_tags').select('tag').execute();
      expect(tags.map((t) => t.tag)).toEqual(['one']);
    });

    it('stores each key once when 60 concurrent inserts race for 20 keys over two connections', async () => {
      const other = await store().connectAgain();
      const attempts = Array.from({ length: 60 }, (_, i) => ({
        repo: i % 2 === 0 ? repo() : other,
        link: newLink(`race${i % 20}`, { url: `https://example.com/${i}`, tags: [`t${i}`] }),
      }));
      const results = await Promise.all(attempts.map((a) => a.repo.insert(a.link)));
      const winners = results.flatMap((r) => (r === 'conflict' ? [] : [r]));
      expect(winners).toHaveLength(20);
      expect(new Set(winners.map((w) => w.key)).size).toBe(20);
      expect(new Set(winners.map((w) => w.id)).size).toBe(20);
      for (const w of winners) {
        // The stored row is the winner's, with the winner's tags and no loser's.
        expect(await repo().findByKey(w.key)).toEqual(w);
        expect(w.tags).toHaveLength(1);
      }
      let tagRows = 0;
      for (const d of store().databases) tagRows += (await d.db.selectFrom('link_tags').select('tag').execute()).length;
      expect(tagRows).toBe(20);
    });
  });

  describe('insertMany', () => {
    it('answers per input in order, with conflicts against stored and in-batch keys', async () => {
      await repo().insert(newLink('taken'));
      const results = await repo().insertMany([
        newLink('b', { tags: ['x', 'x'] }),
        newLink('taken'),
        newLink('a', { url: 'https://first.example/' }),
        newLink('a', { url: 'https://second.example/' }),
        newLink('c', { tags: ['y'] }),
      ]);
      expect(results.map((r) => (r === 'conflict' ? r : r.key))).toEqual(['b', 'conflict', 'a', 'conflict', 'c']);
      expect((await repo().findByKey('a'))?.url).toBe('https://first.example/');
      expect((await repo().findByKey('b'))?.tags).toEqual(['x']);
      expect((await repo().findByKey('c'))?.tags).toEqual(['y']);
      const ids = results.flatMap((r) => (r === 'conflict' ? [] : [r.id]));
      expect(new Set(ids).size).toBe(3);
    });

    it('inserts batches larger than one statement chunk', async () => {
      const links = Array.from({ length: 1234 }, (_, i) => newLink(`k${i}`, { tags: [`t${i % 3}`] }));
      const results = await repo().insertMany(links);
      expect(results.filter((r) => r === 'conflict')).toHaveLength(0);
      expect((await repo().findByKey('k1232'))?.tags).toEqual(['t2']);
      let n = 0;
      for (const d of store().databases) {
        const row = await d.db.selectFrom('short_urls').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        n += Number(row.n);
      }
      expect(n).toBe(1234);
    });

    it('returns an empty list for an empty batch', async () => {
      expect(await repo().insertMany([])).toEqual([]);
    });
  });

  describe('update', () => {
    it('changes only the given fields, clears with null and replaces tags when given', async () => {
      const created = await repo().insert(newLink('u', { maxClicks: 5, passwordHash: 'h', tags: ['old', 'keep'] }));
      if (created === 'conflict') throw new Error('unexpected conflict');
      const updated = await repo().update('u', { url: 'https://new.example/', maxClicks: null, updatedAt: T0 + 10 });
      expect(updated).toEqual({ ...created, url: 'https://new.example/', maxClicks: null, updatedAt: T0 + 10 });
      const retagged = await repo().update('u', { tags: ['b', 'a', 'b'], disabled: true, redirectStatus: 301, updatedAt: T0 + 20 });
      expect(retagged).toMatchObject({ tags: ['a', 'b'], disabled: true, redirectStatus: 301, passwordHash: 'h' });
      expect(await repo().findByKey('u')).toEqual(retagged);
      expect((await repo().update('u', { tags: [], updatedAt: T0 + 30 }))?.tags).toEqual([]);
    });

    it('returns undefined for an unknown key', async () => {
      expect(await repo().update('nope', { url: 'https://x.example/', updatedAt: T0 })).toBeUndefined();
    });
  });

  describe('delete', () => {
    it('removes the link with its tags and click rollups', async () => {
      const gone = await repo().insert(newLink('gone', { tags: ['a', 'b'] }));
      const kept = await repo().insert(newLink('kept', { tags: ['a'] }));
      if (gone === 'conflict' || kept === 'conflict') throw new Error('unexpected conflict');
      const rollup = { day: '2026-01-01', referrer: '', browser: 'Firefox', os: 'Linux', bot: 0, clicks: 3 };
      await store().databaseOf('gone').db.insertInto('click_rollups').values({ ...rollup, link_id: gone.id }).execute();
      await store().databaseOf('kept').db.insertInto('click_rollups').values({ ...rollup, link_id: kept.id }).execute();

      expect(await repo().delete('gone')).toBe(true);
      expect(await repo().delete('gone')).toBe(false);
      expect(await repo().findByKey('gone')).toBeUndefined();
      const db = store().databaseOf('gone').db;
      expect(await db.selectFrom('link_tags').select('link_id').where('link_id', '=', gone.id).execute()).toEqual([]);
      expect(await db.selectFrom('click_rollups').select('link_id').where('link_id', '=', gone.id).execute()).toEqual([]);
      const keptDb = store().databaseOf('kept').db;
      expect((await keptDb.selectFrom('click_rollups').select('clicks').where('link_id', '=', kept.id).execute()).length).toBe(1);
      expect((await repo().findByKey('kept'))?.tags).toEqual(['a']);
    });
  });

  describe('listKeys', () => {
    it('visits every key exactly once in pages chained by the last key', async () => {
      const keys = ['b', 'A', 'a', 'Z', '_x', '-y', 'a0', 'zz', '0', '9z', 'aB', 'ab'];
      await repo().insertMany(keys.map((k) => newLink(k)));
      const seen: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page: string[] = await repo().listKeys(after, 5);
        expect(page.length).toBeLessThanOrEqual(5);
        if (page.length === 0) break;
        seen.push(...page);
        after = page[page.length - 1]!;
      }
      expect([...seen].sort()).toEqual([...keys].sort());
      expect(new Set(seen).size).toBe(keys.length);
    });

    it('returns nothing for an empty table or past the last key', async () => {
      expect(await repo().listKeys(null, 10)).toEqual([]);
      await repo().insert(newLink('only'));
      expect(await repo().listKeys(null, 10)).toEqual(['only']);
      expect(await repo().listKeys('only', 10)).toEqual([]);
    });
  });

  describe('consumeLimitedClick', () => {
    it('admits exactly max_clicks of 50 concurrent clicks', async () => {
      const link = await repo().insert(newLink('lim', { maxClicks: 10 }));
      if (link === 'conflict') throw new Error('unexpected conflict');
      const results = await Promise.all(Array.from({ length: 50 }, () => repo().consumeLimitedClick(link)));
      expect(results.filter(Boolean)).toHaveLength(10);
      expect((await repo().findByKey('lim'))?.clickCount).toBe(10);
    });

    it('admits exactly max_clicks across two connections', async () => {
      const link = await repo().insert(newLink('lim2', { maxClicks: 7 }));
      if (link === 'conflict') throw new Error('unexpected conflict');
      const other = await store().connectAgain();
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? repo() : other).consumeLimitedClick(link)),
      );
      expect(results.filter(Boolean)).toHaveLength(7);
      expect((await repo().findByKey('lim2'))?.clickCount).toBe(7);
    });

    it('admits exactly max_clicks across three processes', async () => {
      const link = await repo().insert(newLink('lim3', { maxClicks: 25 }));
      if (link === 'conflict') throw new Error('unexpected conflict');
      const startAt = Date.now() + WORKER_START_DELAY_MS;
      const task = { op: 'consume' as const, linkId: link.id, key: link.key, times: 20, startAt };
      const results = await runSqlWorkers<boolean>(store().databaseOf('lim3').location, [task, task, task]);
      expect(results.flat().filter(Boolean)).toHaveLength(25);
      expect((await repo().findByKey('lim3'))?.clickCount).toBe(25);
    });

    it('refuses links without a limit and unknown ids, counting nothing', async () => {
      const link = await repo().insert(newLink('free'));
      if (link === 'conflict') throw new Error('unexpected conflict');
      expect(await repo().consumeLimitedClick(link)).toBe(false);
      expect(await repo().consumeLimitedClick({ id: link.id + 1000, key: link.key })).toBe(false);
      expect((await repo().findByKey('free'))?.clickCount).toBe(0);
    });
  });
});

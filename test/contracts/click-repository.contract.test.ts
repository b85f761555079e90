import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { KyselyClickRepository } from '../../src/adapters/sql/kysely-click-repository.js';
import { KyselyLinkRepository } from '../../src/adapters/sql/kysely-link-repository.js';
import { SqliteClickRepository } from '../../src/adapters/sqlite/sqlite-click-repository.js';
import type { ClickAggregate } from '../../src/shortener/clicks.js';
import type { ClickRepository } from '../../src/shortener/ports.js';
import { describeEachDatabase, sqliteFactory, useFreshDatabase, type DatabaseFactory, type TestDatabase } from '../helpers/databases.js';
import { newLink } from '../helpers/new-link.js';

function click(linkId: number, overrides: Partial<ClickAggregate> = {}): ClickAggregate {
  return { linkId, day: '2026-01-02', referrer: '', browser: 'Firefox', os: 'Linux', bot: false, clicks: 1, ...overrides };
}

type ClickRepositoryMaker = (database: TestDatabase) => ClickRepository;

const kyselyClicks: ClickRepositoryMaker = (d) => new KyselyClickRepository(d.db, d.dialect);

const sqliteClicks: ClickRepositoryMaker = (d) => {
  if (!d.raw) throw new Error('SqliteClickRepository needs the raw better-sqlite3 connection');
  return new SqliteClickRepository(d.db, d.raw);
};

// The same tests for every adapter: Kysely on each database, the raw better-sqlite3 one on SQLite.
describeEachDatabase('ClickRepository contract (Kysely)', (factory) => clickRepositoryContract(factory, kyselyClicks));
describe('ClickRepository contract (SqliteClickRepository) [sqlite]', () => clickRepositoryContract(sqliteFactory, sqliteClicks));

function clickRepositoryContract(factory: DatabaseFactory, makeClicks: ClickRepositoryMaker): void {
  const database = useFreshDatabase(factory);
  const links = () => new KyselyLinkRepository(database().db, database().dialect);
  const clicks = () => makeClicks(database());

  async function createLink(key: string): Promise<number> {
    const link = await links().insert(newLink(key));
    if (link === 'conflict') throw new Error('unexpected conflict');
    return link.id;
  }

  describe('stats', () => {
    it('zero-fills every day of the range and splits humans from bots', async () => {
      const id = await createLink('s');
      await clicks().addClicks({
        rollups: [
          click(id, { day: '2025-12-31', clicks: 100 }),
          click(id, { day: '2026-01-02', clicks: 3 }),
          click(id, { day: '2026-01-02', clicks: 2, bot: true, browser: 'Googlebot', os: 'Other' }),
          click(id, { day: '2026-01-04', clicks: 4, referrer: 'news.example', browser: 'Chrome', os: 'Windows' }),
          click(id, { day: '2026-01-06', clicks: 50 }),
        ],
        counts: new Map(),
      });
      const stats = await clicks().stats(id, '2026-01-01', '2026-01-05');
      expect(stats).toEqual({
        total: 9,
        humans: 7,
        bots: 2,
        daily: [
          { date: '2026-01-01', clicks: 0, humans: 0, bots: 0 },
          { date: '2026-01-02', clicks: 5, humans: 3, bots: 2 },
          { date: '2026-01-03', clicks: 0, humans: 0, bots: 0 },
          { date: '2026-01-04', clicks: 4, humans: 4, bots: 0 },
          { date: '2026-01-05', clicks: 0, humans: 0, bots: 0 },
        ],
        referrers: [
          { host: '(direct)', clicks: 5 },
          { host: 'news.example', clicks: 4 },
        ],
        browsers: [
          { browser: 'Chrome', clicks: 4 },
          { browser: 'Firefox', clicks: 3 },
          { browser: 'Googlebot', clicks: 2 },
        ],
        os: [
          { os: 'Windows', clicks: 4 },
          { os: 'Linux', clicks: 3 },
          { os: 'Other', clicks: 2 },
        ],
      });
    });

    it('spans month ends and keeps only the top 20 referrers, most clicks first', async () => {
      const id = await createLink('r');
      const rollups = Array.from({ length: 25 }, (_, i) => click(id, { day: '2026-02-28', referrer: `r${i}.example`, clicks: i + 1 }));
      await clicks().addClicks({ rollups, counts: new Map() });
      const stats = await clicks().stats(id, '2026-02-27', '2026-03-01');
      expect(stats.daily.map((d) => d.date)).toEqual(['2026-02-27', '2026-02-28', '2026-03-01']);
      expect(stats.total).toBe((25 * 26) / 2);
      expect(stats.referrers).toHaveLength(20);
      expect(stats.referrers[0]).toEqual({ host: 'r24.example', clicks: 25 });
      expect(stats.referrers[19]).toEqual({ host: 'r5.example', clicks: 6 });
    });

    it('is empty for a link without clicks', async () => {
      const id = await createLink('none');
      const stats = await clicks().stats(id, '2026-01-01', '2026-01-02');
      expect(stats).toMatchObject({ total: 0, humans: 0, bots: 0, referrers: [], browsers: [], os: [] });
      expect(stats.daily).toHaveLength(2);
    });
  });

  describe('addClicks', () => {
    it('adds to existing rollups, merges repeats within a batch and bumps click_count', async () => {
      const a = await createLink('a');
      const b = await createLink('b');
      await clicks().addClicks({ rollups: [click(a, { clicks: 2 }), click(b)], counts: new Map([[a, 2], [b, 1]]) });
      await clicks().addClicks({
        rollups: [click(a, { clicks: 3 }), click(a, { clicks: 4 }), click(a, { bot: true })],
        counts: new Map([[a, 8]]),
      });
      const rows = await database().db.selectFrom('click_rollups').selectAll().where('link_id', '=', a).orderBy('bot').execute();
      expect(rows.map((r) => [Number(r.bot), Number(r.clicks)])).toEqual([[0, 9], [1, 1]]);
      expect((await links().findByKey('a'))?.clickCount).toBe(10);
      expect((await links().findByKey('b'))?.clickCount).toBe(1);
      expect((await clicks().stats(a, '2026-01-02', '2026-01-02')).total).toBe(10);
    });

    it('skips rows of a deleted link without failing the rest of the batch', async () => {
      const gone = await createLink('gone');
      const kept = await createLink('kept');
      await links().delete('gone');
      await clicks().addClicks({ rollups: [click(gone, { clicks: 5 }), click(kept, { clicks: 2 })], counts: new Map([[gone, 5], [kept, 2]]) });
      expect(await database().db.selectFrom('click_rollups').select('link_id').where('link_id', '=', gone).execute()).toEqual([]);
      expect((await clicks().stats(kept, '2026-01-02', '2026-01-02')).total).toBe(2);
      expect((await links().findByKey('kept'))?.clickCount).toBe(2);
    });

    it('writes nothing when any part of the batch fails, even after several chunks', async () => {
      const first = await createLink('first');
      const second = await createLink('second');
      const rollups = Array.from({ length: 1500 }, (_, i) => click(first, { browser: `b${i}` }));
      // A NOT NULL violation in the last chunk (the later link sorts last).
      rollups.push(click(second, { os: null as unknown as string }));
      await expect(clicks().addClicks({ rollups, counts: new Map([[first, 1500], [second, 1]]) })).rejects.toThrow();
      expect(await database().db.selectFrom('click_rollups').select('link_id').execute()).toEqual([]);
      expect((await links().findByKey('first'))?.clickCount).toBe(0);
      expect((await links().findByKey('second'))?.clickCount).toBe(0);
    });

    it('survives concurrent batches on the same rollup rows', async () => {
      const id = await createLink('hot');
      const batch = () => ({
        rollups: [click(id, { referrer: 'x.example' }), click(id), click(id, { bot: true })],
        counts: new Map([[id, 3]]),
      });
      await Promise.all(Array.from({ length: 20 }, () => clicks().addClicks(batch())));
      expect((await clicks().stats(id, '2026-01-02', '2026-01-02')).total).toBe(60);
      expect((await links().findByKey('hot'))?.clickCount).toBe(60);
    });

    it('accepts an empty batch', async () => {
      await expect(clicks().addClicks({ rollups: [], counts: new Map() })).resolves.toBeUndefined();
    });

    it('stays out of a transaction in flight on the same database, which then rolls back', async () => {
      const id = await createLink('tx');
      let updated!: () => void;
      const inside = new Promise<void>((resolve) => (updated = resolve));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const transaction = database().db.transaction().execute(async (trx) => {
        await trx.updateTable('short_urls').set({ click_count: 100 }).where('id', '=', id).execute();
        updated();
        await gate;
        throw new Error('rolled back');
      });
      await inside;
      const adding = clicks().addClicks({ rollups: [click(id, { clicks: 2 })], counts: new Map([[id, 2]]) });
      await sleep(50);
      release();
      await expect(transaction).rejects.toThrow('rolled back');
      await adding;
      expect((await links().findByKey('tx'))?.clickCount).toBe(2);
      expect((await clicks().stats(id, '2026-01-02', '2026-01-02')).total).toBe(2);
    });
  });
}

import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { KyselyLinkRepository } from '../../src/adapters/sql/kysely-link-repository.js';
import { SqliteClickJournal } from '../../src/adapters/sqlite/sqlite-click-journal.js';
import { SqliteClickRepository } from '../../src/adapters/sqlite/sqlite-click-repository.js';
import type { IntervalTimers } from '../../src/platform/cache/write-behind-buffer.js';
import { FakeClock } from '../../src/platform/clock.js';
import { ClickRecorder } from '../../src/shortener/click-recorder.js';
import type { ClickBatch } from '../../src/shortener/clicks.js';
import {
  deadLocalProcess,
  JournaledClickRepository,
  JournalLeaseLost,
  type ClickJournal,
  type JournaledClicksOptions,
} from '../../src/shortener/journaled-clicks.js';
import { sqliteFactory, useFreshDatabase, type TestDatabase } from '../helpers/databases.js';
import { newLink } from '../helpers/new-link.js';

/** Timers that fire only when the test says so. */
class ManualTimers implements IntervalTimers {
  private fns = new Set<() => void>();
  setInterval(fn: () => void): unknown {
    this.fns.add(fn);
    return fn;
  }
  clearInterval(handle: unknown): void {
    this.fns.delete(handle as () => void);
  }
  /** Runs every live interval callback once and lets what they started settle. */
  async fire(): Promise<void> {
    for (const fn of this.fns) fn();
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
  }
}
const TTL = 30_000;

/** `inner` with some of its methods replaced (the rest delegate to it). */
function withJournal(inner: ClickJournal, overrides: Partial<ClickJournal>): ClickJournal {
  return {
    acquire: (o, t, g) => inner.acquire(o, t, g),
    release: (o) => inner.release(o),
    progress: () => inner.progress(),
    forEach: (a, u, v) => inner.forEach(a, u, v),
    append: (o, b) => inner.append(o, b),
    applyPart: (o, p, pr) => inner.applyPart(o, p, pr),
    finish: (o, u) => inner.finish(o, u),
    ...overrides,
  };
}

class Crash extends Error {}

/** A journal that "dies" (throws) at a chosen call, to leave the database as a crash would. */
function crashing(inner: ClickJournal, at: { applyPart?: number; finish?: boolean; append?: number }): ClickJournal {
  let parts = 0;
  let appends = 0;
  return withJournal(inner, {
    append: (o, b) => (at.append !== undefined && appends++ >= at.append ? Promise.reject(new Crash('append')) : inner.append(o, b)),
    applyPart: (o, p, pr) => (at.applyPart !== undefined && parts++ >= at.applyPart ? Promise.reject(new Crash('part')) : inner.applyPart(o, p, pr)),
    finish: (o, u) => (at.finish ? Promise.reject(new Crash('finish')) : inner.finish(o, u)),
  });
}

describe('click journal (ADR 6) [sqlite]', () => {
  const database = useFreshDatabase(sqliteFactory);

  function parts(d: TestDatabase, clock: FakeClock) {
    if (!d.raw) throw new Error('needs the raw SQLite connection');
    const writer = new SqliteClickRepository(d.db, d.raw);
    return { writer, journal: new SqliteClickJournal(d.db, d.raw, writer, clock) };
  }

  function repo(clock: FakeClock, options: Partial<JournaledClicksOptions> = {}, wrap = (j: ClickJournal) => j) {
    const { writer, journal } = parts(database(), clock);
    const fallback = new ClickRecorder(writer, clock, { intervalMs: 3_600_000, maxPending: 1e6, maxBuffered: 1e7 });
    return new JournaledClickRepository(wrap(journal), writer, fallback, clock, {
      flushIntervalMs: 1000,
      flushMaxPending: 1e6,
      appendRows: 5,
      compactIntervalMs: 60_000,
      compactMaxRows: 10_000,
      partRows: 3,
      leaseTtlMs: TTL,
      timers: new ManualTimers(),
      holderIsGone: () => false,
      ...options,
    });
  }

  async function makeLinks(n: number): Promise<number[]> {
    const links = new KyselyLinkRepository(database().db, 'sqlite');
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      const link = await links.insert(newLink(`j${i}`));
      if (link === 'conflict') throw new Error('conflict');
      ids.push(link.id);
    }
    return ids;
  }

  /** A batch of `clicks` clicks over `ids`, spread over two referrers and both bot flags. */
  function batch(ids: number[], seed: number, clicks = 20): ClickBatch {
    const b: ClickBatch = { rollups: [], counts: new Map() };
    for (let i = 0; i < clicks; i++) {
      const linkId = ids[(seed * 7 + i * 13) % ids.length]!;
      b.rollups.push({ linkId, day: '2026-01-01', referrer: i % 3 === 0 ? 'news.example' : '', browser: 'Firefox', os: 'Linux', bot: i % 5 === 0, clicks: 1 });
      b.counts.set(linkId, (b.counts.get(linkId) ?? 0) + 1);
    }
    return b;
  }

  async function stored(): Promise<{ rollups: number; counts: number; journal: number }> {
    const db = database().db;
    const r = await db.selectFrom('click_rollups').select((eb) => eb.fn.sum<number>('clicks').as('n')).executeTakeFirst();
    const c = await db.selectFrom('short_urls').select((eb) => eb.fn.sum<number>('click_count').as('n')).executeTakeFirst();
    const j = await db.selectFrom('click_journal').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    return { rollups: Number(r?.n ?? 0), counts: Number(c?.n ?? 0), journal: Number(j?.n ?? 0) };
  }

  it('counts appended clicks in reads at once, and stores them once when compacted', async () => {
    const clock = new FakeClock();
    const ids = await makeLinks(10);
    const clicks = repo(clock);
    await clicks.start();
    for (let s = 0; s < 5; s++) await clicks.addClicks(batch(ids, s));

    expect(await stored()).toEqual({ rollups: 0, counts: 0, journal: 5 });
    const expectedOf = (id: number) => [0, 1, 2, 3, 4].reduce((n, s) => n + (batch(ids, s).counts.get(id) ?? 0), 0);
    for (const id of ids) {
      expect(clicks.pendingCount(id)).toBe(expectedOf(id));
      expect((await clicks.stats(id, '2026-01-01', '2026-01-01')).total).toBe(expectedOf(id));
    }

    await clicks.settle();
    expect(await stored()).toEqual({ rollups: 100, counts: 100, journal: 0 });
    for (const id of ids) {
      expect(clicks.pendingCount(id)).toBe(0);
      expect((await clicks.stats(id, '2026-01-01', '2026-01-01')).total).toBe(expectedOf(id)); // not twice
    }
    expect(await database().db.selectFrom('click_compaction').selectAll().execute()).toEqual([]);
    await clicks.close();
  });

  it('reads during a compaction count every click once (applied parts from the database, the rest from memory)', async () => {
    const clock = new FakeClock();
    const ids = await makeLinks(9);
    // A part's commit and the step after it are apart in time, as they can be on any engine.
    const clicks = repo(clock, { partRows: 1 }, (j) => withJournal(j, {
      applyPart: async (o, p, pr) => {
        await j.applyPart(o, p, pr);
        await new Promise((r) => setTimeout(r, 2));
      },
    }));
    await clicks.start();
    const b = batch(ids, 1, 90);
    await clicks.addClicks(b);
    let compacted = false;
    const compaction = clicks.compactNow().then(() => (compacted = true));
    let reads = 0;
    const countOf = (id: number) =>
      clicks.consistentRead(async () => {
        const row = await database().db.selectFrom('short_urls').select('click_count').where('id', '=', id).executeTakeFirstOrThrow();
        return Number(row.click_count) + clicks.pendingCount(id);
      });
    while (!compacted) {
      for (const id of ids) {
        expect((await clicks.stats(id, '2026-01-01', '2026-01-01')).total).toBe(b.counts.get(id) ?? 0);
        expect(await countOf(id)).toBe(b.counts.get(id) ?? 0);
        reads++;
      }
      await new Promise((r) => setImmediate(r)); // reads are requests: each its own turn
    }
    await compaction;
    expect(reads).toBeGreaterThan(ids.length); // the reads did overlap the compaction
    expect(await stored()).toMatchObject({ rollups: 90, counts: 90 });
    await clicks.close();
  });

  // Every point a process can die at: before any compaction, after k parts, before the trim.
  const crashPoints: { name: string; at: { applyPart?: number; finish?: boolean } | null }[] = [
    { name: 'before compacting', at: null },
    ...[0, 1, 2, 5].map((k) => ({ name: `after ${k} compaction parts`, at: { applyPart: k } })),
    { name: 'after all parts, before the journal is trimmed', at: { finish: true } },
  ];
  for (const { name, at } of crashPoints) {
    it(`a crash ${name} loses nothing and counts nothing twice after a restart`, async () => {
      const clock = new FakeClock();
      const ids = await makeLinks(12);
      const first = repo(clock, {}, (j) => (at ? crashing(j, at) : j));
      await first.start();
      for (let s = 0; s < 4; s++) await first.addClicks(batch(ids, s));
      if (at) await expect(first.compactNow()).rejects.toBeInstanceOf(Crash);
      // `first` is dead: never closed. More clicks arrived in its journal before? No — it died.

      clock.advance(TTL + 1); // its lease runs out
      const second = repo(clock);
      await second.start(); // recovers: finishes the interrupted compaction, then compacts the rest
      expect(await stored()).toEqual({ rollups: 80, counts: 80, journal: 0 });
      for (const id of ids) expect(second.pendingCount(id)).toBe(0);
      await second.close();
    });
  }

  /** A journal whose writes take a random 0–2 ms, so clicks arrive while appends and parts are in flight. */
  function slow(j: ClickJournal, random: () => number): ClickJournal {
    const pause = () => new Promise((r) => setTimeout(r, Math.floor(random() * 3)));
    return withJournal(j, {
      append: async (o, b) => {
        await pause();
        return j.append(o, b);
      },
      applyPart: async (o, p, pr) => {
        await pause();
        await j.applyPart(o, p, pr);
        await pause();
      },
    });
  }

  /** A small deterministic PRNG (mulberry32), so a failing schedule can be replayed. */
  function prng(seed: number): () => number {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  for (const seed of [1, 2, 3]) {
    it(`clicks recorded while appends and compactions run are each counted once (schedule ${seed})`, async () => {
      const random = prng(seed);
      const clock = new FakeClock(Date.UTC(2026, 0, 1, 23, 59, 58));
      const timers = new ManualTimers();
      const ids = await makeLinks(30);
      const limited = new Set(ids.slice(0, 3)); // links with max_clicks: rollups, no running count
      const clicks = repo(clock, { timers, appendRows: 4, partRows: 5, compactIntervalMs: 3_000 }, (j) => slow(j, random));
      await clicks.start();
      const expected = new Map<number, number>();
      let recorded = 0;
      const work: Promise<unknown>[] = [];
      for (let step = 0; step < 400; step++) {
        const r = random();
        if (r < 0.8) {
          const id = ids[Math.floor(random() * ids.length)]!;
          const ua = random() < 0.2 ? 'Googlebot/2.1' : 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0';
          clicks.record({ id, maxClicks: limited.has(id) ? 1000 : null }, random() < 0.5 ? 'https://news.example/a' : undefined, ua, clock.now());
          expected.set(id, (expected.get(id) ?? 0) + 1);
          recorded++;
        } else if (r < 0.9) {
          clock.advance(400); // crosses midnight and several flush and compaction intervals
          work.push(timers.fire());
        } else if (r < 0.95) {
          work.push(clicks.compactNow().catch(() => undefined));
        } else {
          const id = ids[Math.floor(random() * ids.length)]!;
          const s = await clicks.stats(id, '2026-01-01', '2026-01-03');
          expect(s.total).toBe(expected.get(id) ?? 0);
        }
        if (random() < 0.3) await new Promise((res) => setTimeout(res, random() < 0.5 ? 0 : 1));
      }
      // Every click appended, then the process dies (no close) in whatever state its compaction
      // is, and a new one recovers from the database alone.
      await Promise.all(work);
      for (let round = 0; round < 3; round++) {
        // The same links in each append: each click must be journaled once, not once per append.
        for (const id of ids.slice(0, 10)) {
          clicks.record({ id, maxClicks: limited.has(id) ? 1000 : null }, undefined, undefined, clock.now());
          expected.set(id, (expected.get(id) ?? 0) + 1);
          recorded++;
        }
        await clicks.journalNow();
      }
      for (const id of ids) expect((await clicks.stats(id, '2026-01-01', '2026-01-03')).total).toBe(expected.get(id) ?? 0);
      const beforeCrash = await stored();
      expect(beforeCrash.journal).toBeGreaterThan(0); // recovery below has work to do
      clock.advance(TTL + 1);
      const restarted = repo(clock);
      await restarted.start();
      const unlimited = [...expected].filter(([id]) => !limited.has(id)).reduce((n, [, c]) => n + c, 0);
      expect(await stored()).toEqual({ rollups: recorded, counts: unlimited, journal: 0 });
      for (const id of ids) expect((await restarted.stats(id, '2026-01-01', '2026-01-03')).total).toBe(expected.get(id) ?? 0);
      const days = await database().db.selectFrom('click_rollups').select('day').distinct().execute();
      expect(days.map((d) => d.day).sort()).toEqual(['2026-01-01', '2026-01-02']);
      await restarted.close();
    });
  }

  it('a crash loses only the clicks not yet appended to the journal', async () => {
    const clock = new FakeClock();
    const timers = new ManualTimers();
    const ids = await makeLinks(4);
    const first = repo(clock, { timers });
    await first.start();
    for (let i = 0; i < 40; i++) first.record({ id: ids[i % 4]!, maxClicks: null }, undefined, undefined, clock.now());
    clock.advance(1000);
    await timers.fire(); // the flush interval: appended
    for (let i = 0; i < 15; i++) first.record({ id: ids[0]!, maxClicks: null }, undefined, undefined, clock.now());
    // killed here: the 15 were only in memory
    clock.advance(TTL + 1);
    const second = repo(clock);
    await second.start();
    expect(await stored()).toEqual({ rollups: 40, counts: 40, journal: 0 });
    await second.close();
  });

  it('a compaction that fails resumes where it stopped and applies every part once', async () => {
    const clock = new FakeClock();
    const ids = await makeLinks(12);
    let failures = 1;
    const clicks = repo(clock, {}, (j) => withJournal(j, {
      applyPart: async (o, p, pr) => {
        if (pr.doneLinkId > ids[5]! && failures-- > 0) throw new Error('disk hiccup');
        await j.applyPart(o, p, pr);
      },
    }));
    await clicks.start();
    await clicks.addClicks(batch(ids, 3, 60));
    await expect(clicks.compactNow()).rejects.toThrow('disk hiccup');
    const partial = await stored();
    expect(partial.counts).toBeGreaterThan(0);
    expect(partial.counts).toBeLessThan(60);
    await clicks.addClicks(batch(ids, 4, 30)); // arrives meanwhile: waits for the next compaction
    await clicks.compactNow(); // resumes the failed one
    expect((await stored()).counts).toBe(60);
    await clicks.settle();
    expect(await stored()).toEqual({ rollups: 90, counts: 90, journal: 0 });
    await clicks.close();
  });

  it('a second process on the same database writes directly, and nothing is counted twice', async () => {
    const clock = new FakeClock();
    const ids = await makeLinks(5);
    const reasons: string[] = [];
    const a = repo(clock);
    const b = repo(clock, { onDirect: (r) => reasons.push(r) });
    await a.start();
    await b.start();
    expect(reasons).toEqual([expect.stringContaining('another process owns the click journal')]);
    await a.addClicks(batch(ids, 1));
    await b.addClicks(batch(ids, 2)); // written at once
    expect(await stored()).toMatchObject({ rollups: 20, counts: 20, journal: 1 });
    await a.close();
    await b.close();
    expect(await stored()).toEqual({ rollups: 40, counts: 40, journal: 0 });
  });

  it('a process that lost its lease stops using the journal; its journaled clicks are the new owner’s', async () => {
    const clock = new FakeClock();
    const ids = await makeLinks(5);
    const reasons: string[] = [];
    const a = repo(clock, { onDirect: (r) => reasons.push(r) });
    await a.start();
    await a.addClicks(batch(ids, 1));
    clock.advance(TTL + 1); // `a` stalled past its lease
    const b = repo(clock);
    await b.start(); // takes over and compacts a's journal
    expect(await stored()).toMatchObject({ rollups: 20, counts: 20, journal: 0 });
    await expect(a.addClicks(batch(ids, 2))).rejects.toBeInstanceOf(JournalLeaseLost);
    expect(reasons).toEqual([expect.stringContaining('lease was lost')]);
    expect(a.pendingCount(ids[0]!)).toBe(0); // dropped: b counted them
    await a.addClicks(batch(ids, 2)); // the write-behind buffer's retry: now direct
    await a.close();
    await b.close();
    expect(await stored()).toEqual({ rollups: 40, counts: 40, journal: 0 });
  });

  it('a restart takes the lease of a process that is gone without waiting for it to expire', async () => {
    const clock = new FakeClock();
    const ids = await makeLinks(3);
    const first = repo(clock);
    await first.start();
    await first.addClicks(batch(ids, 1));
    const waiting: string[] = [];
    const second = repo(clock, { holderIsGone: () => false, onDirect: (r) => waiting.push(r) });
    await second.start();
    expect(waiting).toHaveLength(1); // the holder is alive: no takeover
    const third = repo(clock, { holderIsGone: () => true });
    await third.start(); // same instant, lease unexpired, holder gone: takes over and recovers
    expect(await stored()).toMatchObject({ rollups: 20, counts: 20, journal: 0 });
    await third.close();
  });

  it('journal writes by a process that does not hold the lease are refused', async () => {
    const clock = new FakeClock();
    const ids = await makeLinks(2);
    const { journal } = parts(database(), clock);
    expect(await journal.acquire('host/1/a', TTL)).toBe(true);
    expect(await journal.acquire('host/2/b', TTL)).toBe(false);
    await expect(journal.append('host/2/b', batch(ids, 1))).rejects.toBeInstanceOf(JournalLeaseLost);
    await expect(journal.applyPart('host/2/b', batch(ids, 1), { upto: 1, doneLinkId: ids[1]! })).rejects.toBeInstanceOf(JournalLeaseLost);
    await expect(journal.finish('host/2/b', 1)).rejects.toBeInstanceOf(JournalLeaseLost);
    expect(await stored()).toEqual({ rollups: 0, counts: 0, journal: 0 });
  });
});

describe('deadLocalProcess', () => {
  it('is true only for a pid on this host that no longer runs', () => {
    const exited = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(exited.stdout);
    expect(deadLocalProcess(`${hostname()}/${deadPid}/x`)).toBe(true);
    expect(deadLocalProcess(`${hostname()}/${process.pid}/x`)).toBe(false); // this process
    expect(deadLocalProcess(`${hostname()}/${process.ppid}/x`)).toBe(false); // alive
    expect(deadLocalProcess(`another-host/${deadPid}/x`)).toBe(false); // cannot tell: wait for expiry
    expect(deadLocalProcess('garbage')).toBe(false);
  });
});

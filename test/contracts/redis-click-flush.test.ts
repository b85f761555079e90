import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClickFlusher, type FlushFaults } from '../../src/adapters/redis/click-flusher.js';
import { RedisClickCounter } from '../../src/adapters/redis/redis-click-counter.js';
import { KyselyClickFlushes } from '../../src/adapters/sql/kysely-click-flushes.js';
import { KyselyClickRepository } from '../../src/adapters/sql/kysely-click-repository.js';
import { KyselyLinkRepository } from '../../src/adapters/sql/kysely-link-repository.js';
import { systemClock } from '../../src/platform/clock.js';
import { ClickRecorder } from '../../src/shortener/click-recorder.js';
import type { Link } from '../../src/shortener/link.js';
import { describeEachDatabase, useFreshDatabase, type TestDatabase } from '../helpers/databases.js';
import { newLink } from '../helpers/new-link.js';
import { describeWithRedis, uniquePrefix } from '../helpers/redis.js';
import { clickTotals, deleteKeys, FIREFOX, GOOGLEBOT, startProxy } from './redis-click-support.js';

class Crash extends Error {}
const crash = (): Promise<void> => Promise.reject(new Crash('simulated crash'));

describeWithRedis('Redis click counter and exactly-once flush', (url) => {
  describeEachDatabase('handoff', (factory) => {
    const database = useFreshDatabase(factory);
    let redis: Redis;
    let prefix: string;
    const open: { close(): Promise<void> }[] = [];

    beforeEach(async () => {
      // As tny opens it (open-redis.ts): no offline queue, so commands fail fast when it is down.
      redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
      await redis.connect();
      prefix = uniquePrefix();
    });
    afterEach(async () => {
      for (const o of open.splice(0).reverse()) await o.close().catch(() => undefined);
      if (redis.status === 'ready') await deleteKeys(redis, prefix);
      redis.disconnect();
    });

    const writer = (d: TestDatabase) => new KyselyClickRepository(d.db, d.dialect);
    const counter = (client: Pick<Redis, 'pipeline' | 'status'> = redis, maxInFlight = 64) => {
      const fallback = new ClickRecorder(writer(database()), systemClock, { intervalMs: 60_000, maxPending: 100_000, maxBuffered: 1_000_000 });
      const c = new RedisClickCounter(client, fallback, systemClock, { prefix, maxInFlight, reportIntervalMs: 1000 });
      open.push(c);
      return c;
    };
    const flusher = (faults?: FlushFaults) =>
      new ClickFlusher(redis, new KyselyClickFlushes(database().db, database().dialect), systemClock, {
        prefix,
        intervalMs: 50,
        leaseTtlMs: 1000,
        faults,
      });
    const createLink = async (key: string, maxClicks: number | null = null): Promise<Link> => {
      const link = await new KyselyLinkRepository(database().db, database().dialect).insert(newLink(key, { maxClicks }));
      if (link === 'conflict') throw new Error('conflict');
      return link;
    };
    const flushingKeys = async () => (await redis.keys(`${prefix}flushing:*`)).length;
    const markers = async () => (await database().db.selectFrom('click_flushes').select('id').execute()).length;

    it('adds clicks to one pending hash: a field per link id, key and dimensions, counted with HINCRBY', async () => {
      const a = await createLink('a');
      const limited = await createLink('lim', 5);
      const c = counter();
      c.record(a, undefined, FIREFOX);
      c.record(a, undefined, FIREFOX);
      c.record(a, 'https://News.example/x', GOOGLEBOT);
      c.record(limited, undefined, FIREFOX);
      await c.flush();
      const hash = await redis.hgetall(`${prefix}pending`);
      const day = new Date().toISOString().slice(0, 10);
      expect(hash).toEqual({
        [`1|${a.id}|a|${day}|Firefox|Linux|0|1|`]: '2',
        [`1|${a.id}|a|${day}|Other|Other|1|1|news.example`]: '1',
        [`1|${limited.id}|lim|${day}|Firefox|Linux|0|0|`]: '1',
      });
      expect(c.bufferStats().sentClicks).toBe(4);
    });

    it('flushes the pending hash into rollups and counts; max_clicks links get rollups only', async () => {
      const a = await createLink('a');
      const limited = await createLink('lim', 5);
      const c = counter();
      for (let i = 0; i < 7; i++) c.record(a, i % 2 ? 'https://r.example/' : undefined, FIREFOX);
      c.record(limited, undefined, FIREFOX);
      await c.flush();
      const f = flusher();
      await f.flushOnce();
      const totals = await clickTotals(database().db);
      expect(totals.rollups.get(a.id)).toBe(7);
      expect(totals.counts.get(a.id)).toBe(7);
      expect(totals.rollups.get(limited.id)).toBe(1);
      expect(totals.counts.get(limited.id)).toBe(0); // its count is the atomic consumeLimitedClick's
      expect(await redis.exists(`${prefix}pending`)).toBe(0);
      expect(await flushingKeys()).toBe(0);
      expect(await markers()).toBe(1);
      await f.flushOnce(); // nothing pending: no flush, no marker
      expect(await markers()).toBe(1);
    });

    it.each([
      ['after RENAME', { afterRename: crash }],
      ['inside the database transaction, before commit', { beforeCommit: crash }],
      ['after the commit, before DEL', { afterCommit: crash }],
    ] as [string, FlushFaults][])('a flusher crashing %s: the next one finishes the flush, totals exact', async (_where, faults) => {
      const a = await createLink('a');
      const c = counter();
      for (let i = 0; i < 10; i++) c.record(a, undefined, FIREFOX);
      await c.flush();
      await expect(flusher(faults).flushOnce()).rejects.toBeInstanceOf(Crash);
      expect(await flushingKeys()).toBe(1);
      const committed = faults.afterCommit !== undefined;
      expect((await clickTotals(database().db)).counts.get(a.id)).toBe(committed ? 10 : 0);
      // Clicks keep coming into a fresh pending hash meanwhile.
      for (let i = 0; i < 5; i++) c.record(a, undefined, FIREFOX);
      await c.flush();
      const next = flusher();
      await next.flushOnce();
      expect(next.stats).toMatchObject({ applied: committed ? 1 : 2, alreadyApplied: committed ? 1 : 0 });
      const totals = await clickTotals(database().db);
      expect(totals.counts.get(a.id)).toBe(15);
      expect(totals.rollups.get(a.id)).toBe(15);
      expect(await flushingKeys()).toBe(0);
    });

    it('two flushers finishing the same flushing key at once apply it once', async () => {
      const a = await createLink('a');
      const c = counter();
      for (let i = 0; i < 20; i++) c.record(a, `https://r${i % 4}.example/`, FIREFOX);
      await c.flush();
      await expect(flusher({ afterRename: crash }).flushOnce()).rejects.toBeInstanceOf(Crash);
      const [x, y] = [flusher(), flusher()];
      await Promise.all([x.recover(), y.recover()]);
      expect(x.stats.applied + y.stats.applied).toBe(1);
      expect((await clickTotals(database().db)).counts.get(a.id)).toBe(20);
      expect(await markers()).toBe(1);
    });

    it('random crash points over many rounds: database totals equal clicks sent', async () => {
      const links = [await createLink('a'), await createLink('b'), await createLink('c', 1_000_000)];
      const c = counter();
      const points: (FlushFaults | undefined)[] = [undefined, { afterRename: crash }, { beforeCommit: crash }, { afterCommit: crash }];
      let sent = 0;
      let seed = 7;
      const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      for (let round = 0; round < 24; round++) {
        const n = 1 + Math.floor(random() * 30);
        for (let i = 0; i < n; i++) c.record(links[i % 3]!, random() < 0.3 ? 'https://x.example/' : undefined, random() < 0.2 ? GOOGLEBOT : FIREFOX);
        sent += n;
        await c.flush();
        await flusher(points[round % points.length]).flushOnce().catch((err: unknown) => {
          if (!(err instanceof Crash)) throw err;
        });
      }
      await flusher().flushOnce();
      const totals = await clickTotals(database().db);
      expect([...totals.rollups.values()].reduce((s, v) => s + v, 0)).toBe(sent);
      expect((totals.counts.get(links[0]!.id) ?? 0) + (totals.counts.get(links[1]!.id) ?? 0)).toBe(totals.rollups.get(links[0]!.id)! + totals.rollups.get(links[1]!.id)!);
      expect(await flushingKeys()).toBe(0);
    });

    it('Redis unreachable: clicks are counted locally and written to the database, none lost', async () => {
      const a = await createLink('a');
      const down = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
      down.on('error', () => undefined);
      const c = counter(down);
      for (let i = 0; i < 12; i++) c.record(a, undefined, FIREFOX);
      await c.flush();
      expect(c.bufferStats()).toMatchObject({ sentClicks: 0, fallbackClicks: 12, redisFailures: 1 });
      expect((await clickTotals(database().db)).counts.get(a.id)).toBe(12);
      down.disconnect();
    });

    it('fields Redis refuses (the pending key holds another type) are counted locally, the rest are not', async () => {
      const a = await createLink('a');
      await redis.set(`${prefix}pending`, 'not a hash');
      const c = counter();
      for (let i = 0; i < 9; i++) c.record(a, `https://r${i % 3}.example/`, FIREFOX);
      await c.flush();
      expect(c.bufferStats()).toMatchObject({ sentClicks: 0, fallbackClicks: 9, redisFailures: 1 });
      expect((await clickTotals(database().db)).rollups.get(a.id)).toBe(9);
      await redis.del(`${prefix}pending`);
      for (let i = 0; i < 4; i++) c.record(a, undefined, FIREFOX);
      await c.flush();
      expect(c.bufferStats()).toMatchObject({ sentClicks: 4, fallbackClicks: 9 });
    });

    it('the connection cut mid-flow: clicks go local while Redis is away and back to Redis after; none lost, any over-count bounded by what was in flight at the cut', async () => {
      const a = await createLink('a');
      const target = new URL(url);
      const proxy = await startProxy(target.hostname, Number(target.port || 6379));
      const client = new Redis(proxy.port, '127.0.0.1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        const c = counter(client);
        let sent = 0;
        const burst = async (n: number) => {
          for (let i = 0; i < n; i++) {
            c.record(a, i % 2 ? 'https://r.example/' : undefined, FIREFOX);
            sent++;
            if (i % 25 === 24) await new Promise((resolve) => setImmediate(resolve));
          }
        };
        await burst(500);
        const inFlightAtCut = c.bufferStats().inFlightClicks;
        proxy.cut();
        await burst(500);
        await proxy.resume();
        for (let i = 0; i < 100 && client.status !== 'ready'; i++) await new Promise((resolve) => setTimeout(resolve, 20));
        expect(client.status).toBe('ready');
        await burst(500);
        await c.flush();
        await flusher().flushOnce();
        const s = c.bufferStats();
        expect(s.sentClicks + s.fallbackClicks).toBeGreaterThanOrEqual(sent);
        expect(s.fallbackClicks).toBeGreaterThan(0);
        expect(s.sentClicks).toBeGreaterThan(500);
        const stored = (await clickTotals(database().db)).rollups.get(a.id) ?? 0;
        expect(stored).toBeGreaterThanOrEqual(sent);
        expect(stored - sent).toBeLessThanOrEqual(inFlightAtCut);
      } finally {
        client.disconnect();
        await proxy.close();
      }
    });

    it('a Redis that does not answer holds at most maxInFlight batches; later clicks go local', async () => {
      const a = await createLink('a');
      const hung = { status: 'ready', pipeline: () => ({ eval() {}, exec: () => new Promise<never>(() => undefined) }) };
      const c = new RedisClickCounter(
        hung as unknown as Pick<Redis, 'pipeline' | 'status'>,
        new ClickRecorder(writer(database()), systemClock, { intervalMs: 60_000, maxPending: 100_000, maxBuffered: 1_000_000 }),
        systemClock,
        { prefix, maxInFlight: 2, reportIntervalMs: 1000 },
      );
      for (let turn = 0; turn < 5; turn++) {
        c.record(a, undefined, FIREFOX);
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(c.bufferStats()).toMatchObject({ fallbackClicks: 3, redisFailures: 3 });
    });

    it('recovery matches a prefix holding glob characters literally', async () => {
      const a = await createLink('a');
      prefix = `${prefix}[x]*?:`;
      const c = counter();
      for (let i = 0; i < 3; i++) c.record(a, undefined, FIREFOX);
      await c.flush();
      await expect(flusher({ afterRename: crash }).flushOnce()).rejects.toBeInstanceOf(Crash);
      expect(await flusher().recover()).toBe(1);
      expect((await clickTotals(database().db)).counts.get(a.id)).toBe(3);
    });

    it('one flusher at a time holds the lease; it passes on when released', async () => {
      const [x, y] = [flusher(), flusher()];
      expect(await x.holdLease()).toBe(true);
      expect(await y.holdLease()).toBe(false);
      expect(await x.holdLease()).toBe(true); // renews
      await x.close();
      expect(await y.holdLease()).toBe(true);
      await y.close();
    });
  });
});

describe('click field encoding', () => {
  it('round-trips a referrer holding the separator', async () => {
    const { clickField, decodeClickField } = await import('../../src/adapters/redis/click-fields.js');
    const f = clickField(42, 'k-y_', '2026-01-02', 'Chrome', 'macOS', true, false, 'a|b.example');
    expect(decodeClickField(f, 3)).toEqual({
      aggregate: { linkId: 42, day: '2026-01-02', referrer: 'a|b.example', browser: 'Chrome', os: 'macOS', bot: true, clicks: 3 },
      key: 'k-y_',
      addToCount: false,
    });
    expect(decodeClickField('garbage', 1)).toBeUndefined();
    expect(decodeClickField('1|x|k|2026-01-02|B|O|0|1|', 1)).toBeUndefined();
  });
});

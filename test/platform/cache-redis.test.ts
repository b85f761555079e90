import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalCache } from '../../src/platform/cache/local-cache.js';
import { InvalidationBus } from '../../src/platform/cache/invalidation-bus.js';
import { RedisCache } from '../../src/platform/cache/redis-cache.js';
import { RedisGuardStore } from '../../src/platform/cache/redis-guard-store.js';
import { RedisLease } from '../../src/platform/cache/redis-lease.js';
import { StampedeGuard } from '../../src/platform/cache/stampede-guard.js';
import { TieredCache } from '../../src/platform/cache/tiered-cache.js';
import { systemClock } from '../../src/platform/clock.js';
import { describeWithRedis, useRedis } from '../helpers/redis.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => boolean, ms: number): Promise<number> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setImmediate(r));
  }
  return performance.now() - started;
}

describeWithRedis('cache tiers on Redis', (url) => {
  const { redis, prefix } = useRedis(url);
  const extra: Redis[] = [];
  /** Another connection, as another process would have (closed after the suite). */
  const connection = () => {
    const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    extra.push(c);
    return c;
  };
  afterAll(() => {
    for (const c of extra) c.disconnect();
  });

  describe('RedisCache', () => {
    it('stores JSON under the prefix, always with an expiry', async () => {
      const cache = new RedisCache<{ url: string; tags: string[]; n: number | null }>(redis(), `${prefix}rc:`);
      const value = { url: 'https://a/', tags: ['x'], n: null };
      await cache.set('k', value, 5_000);
      expect(await cache.get('k')).toEqual(value);
      expect(await redis().get(`${prefix}rc:k`)).toBe(JSON.stringify(value));
      const pttl = await redis().pttl(`${prefix}rc:k`);
      expect(pttl).toBeGreaterThan(4_000);
      expect(pttl).toBeLessThanOrEqual(5_000);
      await cache.delete('k');
      expect(await cache.get('k')).toBeUndefined();
    });

    it('refuses a TTL it could not set', async () => {
      const cache = new RedisCache<string>(redis(), `${prefix}rc:`);
      for (const ttl of [0, -1, Number.NaN, Infinity]) await expect(cache.set('k', 'v', ttl)).rejects.toThrow(RangeError);
      expect(await redis().exists(`${prefix}rc:k`)).toBe(0);
    });

    it('reads an unparseable entry as absent', async () => {
      await redis().set(`${prefix}rc:bad`, '{not json', 'PX', 5_000);
      expect(await new RedisCache<string>(redis(), `${prefix}rc:`).get('bad')).toBeUndefined();
    });
  });

  describe('RedisLease', () => {
    it('has one holder at a time; only the holder token releases it', async () => {
      const lease = new RedisLease(redis(), `${prefix}lease:`);
      const token = await lease.acquire('a', 5_000);
      expect(token).toEqual(expect.any(String));
      expect(await lease.acquire('a', 5_000)).toBeNull();
      expect(await lease.release('a', 'not-the-token')).toBe(false);
      expect(await lease.acquire('a', 5_000)).toBeNull();
      expect(await lease.release('a', token!)).toBe(true);
      expect(await lease.acquire('a', 5_000)).not.toBeNull();
    });

    it('expires, so a crashed holder blocks the name only for its TTL; its late release is refused', async () => {
      const lease = new RedisLease(redis(), `${prefix}lease:`);
      const crashed = await lease.acquire('b', 100);
      expect(await lease.acquire('b', 100)).toBeNull();
      await sleep(130);
      const next = await lease.acquire('b', 5_000);
      expect(next).not.toBeNull();
      expect(await lease.release('b', crashed!)).toBe(false);
      expect(await lease.acquire('b', 5_000)).toBeNull();
    });

    it('admits exactly one of many concurrent acquirers across connections', async () => {
      const a = new RedisLease(redis(), `${prefix}lease:`);
      const other = connection();
      await other.connect();
      const b = new RedisLease(other, `${prefix}lease:`);
      const tokens = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).acquire('c', 5_000)));
      expect(tokens.filter((t) => t !== null)).toHaveLength(1);
    });
  });

  describe('RedisGuardStore and StampedeGuard', () => {
    it('stores a fill only while the lease holds; an invalidation cancels it', async () => {
      const store = new RedisGuardStore<string>(redis(), `${prefix}gs:`);
      const probe = await store.probe('k', 5_000);
      expect(probe.kind).toBe('leased');
      expect((await store.probe('k', 5_000)).kind).toBe('busy');
      await store.invalidate('k'); // an edit landed while loading
      const token = probe.kind === 'leased' ? probe.token : '';
      expect(await store.commit('k', token, { value: 'old', freshUntil: Date.now() + 1000, delta: 1 }, 5_000)).toBe(false);
      const again = await store.probe('k', 5_000);
      expect(again.kind).toBe('leased');
      const t2 = again.kind === 'leased' ? again.token : '';
      expect(await store.commit('k', t2, { value: 'new', freshUntil: 1, delta: 2 }, 5_000)).toBe(true);
      expect(await store.probe('k', 5_000)).toEqual({ kind: 'hit', entry: { value: 'new', freshUntil: 1, delta: 2 } });
      expect(await redis().exists(store.leaseKey('k'))).toBe(0);
      expect(await redis().pttl(store.entryKey('k'))).toBeGreaterThan(0);
    });

    it('after a holder crashes, a waiter in another process loads once when the lease expires', async () => {
      const leaseTtlMs = 150;
      const crashedStore = new RedisGuardStore<string>(redis(), `${prefix}crash:`);
      expect((await crashedStore.probe('hot', leaseTtlMs)).kind).toBe('leased'); // and then it dies
      const other = connection();
      await other.connect();
      let loads = 0;
      const survivor = new StampedeGuard<string>({
        store: new RedisGuardStore<string>(other, `${prefix}crash:`),
        load: async () => `v${++loads}`,
        clock: systemClock,
        ttlMs: () => 60_000,
        staleMs: 0,
        leaseTtlMs,
        beta: 0,
      });
      const started = performance.now();
      const got = await Promise.all(Array.from({ length: 20 }, () => survivor.get('hot')));
      const waited = performance.now() - started;
      expect(new Set(got.map((e) => e.value))).toEqual(new Set(['v1']));
      expect(loads).toBe(1);
      expect(waited).toBeGreaterThanOrEqual(leaseTtlMs - 20);
      expect(waited).toBeLessThan(2 * leaseTtlMs + 200);
      expect(survivor.stats()).toMatchObject({ waited: 1, waitTimeouts: 0 });
    });
  });

  describe('TieredCache over Redis', () => {
    it('shares L2 between two processes while each keeps its own L1', async () => {
      const other = connection();
      await other.connect();
      const make = (r: Redis) =>
        new TieredCache(new LocalCache<number[]>({ max: 100 }), new RedisCache<number[]>(r, `${prefix}tier:`), { l1TtlMs: 60_000 });
      const a = make(redis());
      const b = make(other);
      await a.set('k', [1, 2], 10_000);
      expect(b.peek('k')).toBeUndefined();
      expect(await b.get('k')).toEqual([1, 2]);
      expect(b.peek('k')).toEqual([1, 2]);
      await a.delete('k');
      expect(b.peek('k')).toEqual([1, 2]); // B's L1 is only dropped by an invalidation message
      b.dropLocal('k');
      expect(await b.get('k')).toBeUndefined();
    });
  });

  describe('InvalidationBus', () => {
    function bus(r: Redis, onKey: (key: string) => void, onGap: () => void = () => undefined) {
      const subscriber = r.duplicate();
      return new InvalidationBus({
        redis: r,
        subscriber,
        channel: `${prefix}inv`,
        seqKey: `${prefix}inv:seq`,
        onKey,
        onGap,
      });
    }

    it('drops the key on another client within 100 ms, deletes its shared entries, and numbers every change', async () => {
      const seenA: string[] = [];
      const seenB: string[] = [];
      const other = connection();
      await other.connect();
      const a = bus(redis(), (k) => seenA.push(k));
      const b = bus(other, (k) => seenB.push(k));
      await a.start();
      await b.start();
      try {
        await redis().set(`${prefix}inv:entry`, 'x', 'PX', 60_000);
        const before = await b.latest();
        const sent = performance.now();
        await a.publish('link-1', [`${prefix}inv:entry`]);
        const took = await waitFor(() => seenB.includes('link-1'), 100);
        console.log(`[cache] invalidation seen by the second client ${(performance.now() - sent).toFixed(2)} ms after publish (${took.toFixed(2)} ms after it returned)`);
        expect(await redis().exists(`${prefix}inv:entry`)).toBe(0);
        expect(await b.latest()).toBe(before + 1);
        expect(b.isCurrent(before + 1)).toBe(true);
        await waitFor(() => a.stats().applied === before + 1, 100);
        expect(seenA).toEqual([]); // its own message is only counted
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('reports a gap when a number is skipped, and is not current until resynced', async () => {
      let gaps = 0;
      const b = bus(redis(), () => undefined, () => gaps++);
      await b.start();
      try {
        const now = await b.latest();
        await redis().publish(`${prefix}inv`, `${now + 2} elsewhere skipped-one`);
        await waitFor(() => gaps === 1, 100);
        expect(b.isCurrent(now)).toBe(false);
        await redis().set(`${prefix}inv:seq`, String(now + 2));
        await b.resync();
        expect(b.isCurrent(now + 2)).toBe(true);
      } finally {
        await b.close();
      }
    });

    it('reports a gap after the subscriber reconnects (messages sent meanwhile are lost)', async () => {
      let gaps = 0;
      const subscriber = redis().duplicate();
      const b = new InvalidationBus({
        redis: redis(),
        subscriber,
        channel: `${prefix}inv`,
        seqKey: `${prefix}inv:seq`,
        onKey: () => undefined,
        onGap: () => gaps++,
      });
      await b.start();
      try {
        subscriber.disconnect(true); // drop the connection; ioredis reconnects
        await waitFor(() => gaps === 1, 2_000);
        expect(b.isCurrent(await b.latest())).toBe(false);
        await b.resync();
        // Subscribed again: a new message arrives and keeps it current.
        const a = bus(redis(), () => undefined);
        await a.start();
        await a.publish('after-reconnect');
        const latest = await b.latest();
        await waitFor(() => b.isCurrent(latest), 200);
        expect(gaps).toBe(1);
        await a.close();
      } finally {
        await b.close();
      }
    });
  });
});

import { describe, expect, it } from 'vitest';
import { FakeClock } from '../clock.js';
import type { Stamped } from './cache.js';
import { MemoryGuardStore, type GuardStore } from './guard-store.js';
import { StampedeGuard, type StampedeGuardOptions } from './stampede-guard.js';

const LEASE = 1_000;
const TTL = 60_000;
const STALE = 30_000;

/** A sleep that moves fake time and lets other promises run. */
function fakeSleep(clock: FakeClock): (ms: number) => Promise<void> {
  return async (ms) => {
    clock.advance(ms);
    await new Promise((r) => setImmediate(r));
  };
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function guard(store: GuardStore<string>, clock: FakeClock, load: (key: string) => Promise<string>, extra: Partial<StampedeGuardOptions<string>> = {}) {
  return new StampedeGuard<string>({
    store,
    load,
    clock,
    ttlMs: () => TTL,
    staleMs: STALE,
    leaseTtlMs: LEASE,
    beta: 1,
    rand: () => 1, // ln 1 = 0: no early refresh unless a test asks for it
    sleep: fakeSleep(clock),
    ...extra,
  });
}

const settle = () => new Promise((r) => setTimeout(r, 5));

describe('StampedeGuard', () => {
  it('loads a cold key once for concurrent callers of one process (singleflight)', async () => {
    const clock = new FakeClock();
    let loads = 0;
    const g = guard(new MemoryGuardStore(clock), clock, async (k) => {
      loads++;
      await settle();
      return `v:${k}`;
    });
    const got = await Promise.all(Array.from({ length: 200 }, () => g.get('k')));
    expect(new Set(got.map((e) => e.value))).toEqual(new Set(['v:k']));
    expect(loads).toBe(1);
  });

  it('loads once across two processes sharing the store: the other waits for the lease holder', async () => {
    const clock = new FakeClock();
    const store = new MemoryGuardStore<string>(clock);
    let loads = 0;
    const gate = deferred<void>();
    const load = async () => {
      loads++;
      await gate.promise;
      return 'v';
    };
    // Real pauses, fake time standing still: the lease cannot expire while B waits.
    const sleep = () => new Promise<void>((r) => setTimeout(r, 1));
    const a = guard(store, clock, load, { sleep });
    const b = guard(store, clock, load, { sleep });
    const first = a.get('k');
    await settle();
    const second = b.get('k');
    await settle();
    expect(b.stats().waited).toBe(1);
    gate.resolve();
    expect((await first).value).toBe('v');
    expect((await second).value).toBe('v');
    expect(loads).toBe(1);
  });

  it('takes over after the lease of a crashed holder expires, and the late holder cannot store', async () => {
    const clock = new FakeClock();
    const store = new MemoryGuardStore<string>(clock);
    const hung = deferred<string>();
    const crashed = guard(store, clock, () => hung.promise);
    let survivorLoads = 0;
    const survivor = guard(store, clock, async () => {
      survivorLoads++;
      return 'fresh';
    });
    const stuck = crashed.get('k'); // takes the lease, then never finishes loading
    await settle();
    const started = clock.now();
    const got = await survivor.get('k');
    const waited = clock.now() - started;
    expect(got.value).toBe('fresh');
    expect(survivorLoads).toBe(1);
    expect(waited).toBeGreaterThanOrEqual(LEASE);
    expect(waited).toBeLessThan(2 * LEASE); // not the full wait: the expired lease was taken
    expect(survivor.stats().waitTimeouts).toBe(0);
    // The hung holder wakes up with an old value: its lease is gone, so nothing is stored.
    hung.resolve('old');
    expect((await stuck).value).toBe('old');
    expect(crashed.stats().lostLeases).toBe(1);
    expect((await survivor.get('k')).value).toBe('fresh');
  });

  it('stops waiting after maxWaitMs and loads itself', async () => {
    const clock = new FakeClock();
    const store = new MemoryGuardStore<string>(clock);
    await store.acquire('k', 10 * LEASE); // someone holds a long lease
    let loads = 0;
    const g = guard(store, clock, async () => `v${++loads}`, { maxWaitMs: 300 });
    const started = clock.now();
    expect((await g.get('k')).value).toBe('v1');
    expect(clock.now() - started).toBe(300);
    expect(g.stats()).toMatchObject({ waited: 1, waitTimeouts: 1, loads: 1 });
  });

  it('polls with a doubling pause capped at maxPollMs', async () => {
    const clock = new FakeClock();
    const store = new MemoryGuardStore<string>(clock);
    await store.acquire('k', 10 * LEASE);
    const pauses: number[] = [];
    const g = guard(store, clock, async () => 'v', {
      maxWaitMs: 500,
      sleep: async (ms) => {
        pauses.push(ms);
        clock.advance(ms);
      },
    });
    await g.get('k');
    expect(pauses).toEqual([5, 10, 20, 40, 80, 100, 100, 100, 45]);
  });

  it('serves a stale entry at once and refreshes it once in the background', async () => {
    const clock = new FakeClock();
    const store = new MemoryGuardStore<string>(clock);
    store.put('k', { value: 'old', freshUntil: clock.now() - 1, delta: 5 }, STALE);
    let loads = 0;
    const gate = deferred<void>();
    const g = guard(store, clock, async () => {
      loads++;
      await gate.promise;
      return 'new';
    });
    expect((await g.get('k')).value).toBe('old');
    expect((await g.get('k')).value).toBe('old');
    expect(g.stats().staleServed).toBe(2);
    expect(g.refreshingNow).toBe(1);
    gate.resolve();
    await settle();
    expect(loads).toBe(1);
    const after = await g.get('k');
    expect(after.value).toBe('new');
    expect(after.freshUntil).toBe(clock.now() + TTL);
  });

  it('refreshes a fresh entry early when XFetch says so (fixed rand), and not otherwise', async () => {
    const clock = new FakeClock();
    const store = new MemoryGuardStore<string>(clock);
    const entry: Stamped<string> = { value: 'old', freshUntil: clock.now() + 50, delta: 100 };
    store.put('k', entry, 50 + STALE);
    let loads = 0;
    const load = async () => `new${++loads}`;
    // rand = 1: ln 1 = 0, no head start, 50 ms before expiry: keep.
    const calm = guard(store, clock, load, { rand: () => 1 });
    expect((await calm.get('k')).value).toBe('old');
    await settle();
    expect(loads).toBe(0);
    // rand = e^-1: a head start of delta·beta = 100 ms ≥ 50 ms left: refresh early.
    const eager = guard(store, clock, load, { rand: () => Math.exp(-1) });
    expect((await eager.get('k')).value).toBe('old');
    await settle();
    expect(loads).toBe(1);
    expect(eager.stats().earlyRefreshes).toBe(1);
    expect((await calm.get('k')).value).toBe('new1');
  });

  it('does not store a load that an invalidation overtook', async () => {
    const clock = new FakeClock();
    const store = new MemoryGuardStore<string>(clock);
    const gate = deferred<void>();
    let version = 'old';
    const g = guard(store, clock, async () => {
      const seen = version;
      await gate.promise;
      return seen;
    });
    const inFlight = g.get('k');
    await settle();
    version = 'new';
    await store.invalidate('k');
    gate.resolve();
    expect((await inFlight).value).toBe('old');
    expect(g.stats().lostLeases).toBe(1);
    expect((await g.get('k')).value).toBe('new');
  });

  it('stores nothing for a value whose TTL is 0, and frees the lease', async () => {
    const clock = new FakeClock();
    const store = new MemoryGuardStore<string>(clock);
    let loads = 0;
    const g = guard(store, clock, async () => `v${++loads}`, { ttlMs: () => 0 });
    expect((await g.get('k')).value).toBe('v1');
    expect((await g.get('k')).value).toBe('v2');
    expect(await store.probe('k', LEASE)).toMatchObject({ kind: 'leased' });
  });

  it('frees the lease when the load fails, so the next caller loads at once', async () => {
    const clock = new FakeClock();
    const store = new MemoryGuardStore<string>(clock);
    let calls = 0;
    const g = guard(store, clock, async () => {
      if (++calls === 1) throw new Error('db down');
      return 'v';
    });
    await expect(g.get('k')).rejects.toThrow('db down');
    const before = clock.now();
    expect((await g.get('k')).value).toBe('v');
    expect(clock.now()).toBe(before); // no waiting for an abandoned lease
  });

  it('loads directly when the store fails, and reports it', async () => {
    const clock = new FakeClock();
    const broken: GuardStore<string> = {
      probe: () => Promise.reject(new Error('redis down')),
      acquire: () => Promise.reject(new Error('redis down')),
      commit: () => Promise.reject(new Error('redis down')),
      release: () => Promise.reject(new Error('redis down')),
      invalidate: () => Promise.reject(new Error('redis down')),
    };
    const errors: unknown[] = [];
    let loads = 0;
    const g = guard(broken, clock, async () => `v${++loads}`, { onError: (e) => errors.push(e) });
    const got = await Promise.all([g.get('k'), g.get('k'), g.get('k')]);
    expect(got.map((e) => e.value)).toEqual(['v1', 'v1', 'v1']);
    expect(errors).toHaveLength(1);
    expect(g.stats().storeErrors).toBe(1);
  });
});

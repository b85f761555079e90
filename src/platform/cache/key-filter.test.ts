import { describe, expect, it } from 'vitest';
import { KeyFilter, type KeySync } from './key-filter.js';

/** A source of pages that can be paused between pages. */
function source(keys: string[], pageSize = 100, between?: (page: number) => Promise<void>) {
  let scans = 0;
  return {
    get scans() {
      return scans;
    },
    keys: async function* () {
      scans++;
      for (let i = 0, page = 0; i < keys.length; i += pageSize, page++) {
        if (between) await between(page);
        yield keys.slice(i, i + pageSize);
      }
    },
  };
}

/** A KeySync whose counter and received position the test moves. */
function fakeSync() {
  const sync = { counter: 0, applied: 0, resyncs: 0 };
  const port: KeySync = {
    async resync() {
      sync.resyncs++;
      sync.applied = sync.counter;
    },
    async latest() {
      return sync.counter;
    },
    isCurrent: (latest) => latest <= sync.applied,
  };
  return { sync, port };
}

const existing = Array.from({ length: 1000 }, (_, i) => `key${i}`);

describe('KeyFilter', () => {
  it('lets every existing key through and refuses unknown ones once filled', async () => {
    const filter = new KeyFilter({ keys: source(existing).keys, capacity: 10_000, falsePositiveRate: 0.001 });
    await filter.start();
    for (const key of existing) expect(await filter.definitelyAbsent(key)).toBe(false);
    let refused = 0;
    for (let i = 0; i < 1000; i++) if (await filter.definitelyAbsent(`nope${i}`)) refused++;
    expect(refused).toBeGreaterThan(990);
    expect(filter.stats()).toMatchObject({ state: 'ready', keysAtLastBuild: 1000, refused });
  });

  it('refuses nothing before it is filled', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const filter = new KeyFilter({ keys: source(existing, 100, () => gate).keys, capacity: 10_000, falsePositiveRate: 0.01 });
    const started = filter.start();
    expect(await filter.definitelyAbsent('nope')).toBe(false);
    release();
    await started;
    expect(await filter.definitelyAbsent('nope')).toBe(true);
  });

  it('keeps a key created while it is being filled', async () => {
    const box: { filter?: KeyFilter } = {};
    const src = source(existing, 100, async (page) => {
      if (page === 5) box.filter?.add('created-meanwhile');
    });
    const filter = new KeyFilter({ keys: src.keys, capacity: 10_000, falsePositiveRate: 0.01 });
    box.filter = filter;
    await filter.start();
    expect(await filter.definitelyAbsent('created-meanwhile')).toBe(false);
  });

  it('lets a key pass when another process announced a change not yet received here', async () => {
    const { sync, port } = fakeSync();
    const filter = new KeyFilter({ keys: source(existing).keys, capacity: 10_000, falsePositiveRate: 0.01, sync: port });
    await filter.start();
    expect(await filter.definitelyAbsent('fresh')).toBe(true);
    sync.counter++; // another process created "fresh"; its message is on its way
    expect(await filter.definitelyAbsent('fresh')).toBe(false);
    expect(filter.stats().passedUnsynced).toBe(1);
    filter.add('fresh'); // the message arrives
    sync.applied = sync.counter;
    expect(await filter.definitelyAbsent('fresh')).toBe(false);
    expect(await filter.definitelyAbsent('other')).toBe(true);
  });

  it('lets a key pass when the counter cannot be read', async () => {
    const errors: unknown[] = [];
    const filter = new KeyFilter({
      keys: source(existing).keys,
      capacity: 10_000,
      falsePositiveRate: 0.01,
      sync: { resync: async () => undefined, latest: () => Promise.reject(new Error('redis down')), isCurrent: () => true },
      onError: (e) => errors.push(e),
    });
    await filter.start();
    expect(await filter.definitelyAbsent('nope')).toBe(false);
    expect(errors).toHaveLength(1);
  });

  it('stops refusing on a gap and rebuilds from the source after a resync', async () => {
    const { sync, port } = fakeSync();
    const keys = [...existing];
    const src = source(keys);
    const filter = new KeyFilter({ keys: src.keys, capacity: 10_000, falsePositiveRate: 0.01, sync: port });
    await filter.start();
    // A creation elsewhere whose message was lost: only the source knows it.
    keys.push('lost');
    sync.counter++;
    filter.rebuild();
    expect(filter.stats().state).toBe('building');
    expect(await filter.definitelyAbsent('lost')).toBe(false);
    await new Promise((r) => setTimeout(r, 10));
    expect(filter.stats().state).toBe('ready');
    expect(sync.resyncs).toBe(2);
    expect(src.scans).toBe(2);
    expect(await filter.definitelyAbsent('lost')).toBe(false);
    expect(await filter.definitelyAbsent('never')).toBe(true);
  });

  it('grows when it holds more keys than it was sized for, answering from the old filter meanwhile', async () => {
    const keys = Array.from({ length: 100 }, (_, i) => `g${i}`);
    const filter = new KeyFilter({ keys: source(keys, 50).keys, capacity: 100, falsePositiveRate: 0.01 });
    await filter.start();
    for (let i = 100; i < 400; i++) {
      keys.push(`g${i}`);
      filter.add(`g${i}`);
    }
    await new Promise((r) => setTimeout(r, 10));
    const stats = filter.stats();
    expect(stats.state).toBe('ready');
    expect(stats.capacity).toBeGreaterThanOrEqual(400);
    expect(stats.builds).toBeGreaterThanOrEqual(2);
    for (const key of keys) expect(await filter.definitelyAbsent(key)).toBe(false);
  });

  it('passes everything after a failed build and retries', async () => {
    let fail = true;
    const errors: unknown[] = [];
    const filter = new KeyFilter({
      keys: async function* () {
        if (fail) throw new Error('db down');
        yield existing;
      },
      capacity: 10_000,
      falsePositiveRate: 0.01,
      retryMs: 20,
      onError: (e) => errors.push(e),
    });
    await expect(filter.start()).rejects.toThrow('db down');
    expect(filter.stats().state).toBe('failed');
    expect(await filter.definitelyAbsent('nope')).toBe(false);
    fail = false;
    await new Promise((r) => setTimeout(r, 60));
    expect(filter.stats().state).toBe('ready');
    expect(await filter.definitelyAbsent('nope')).toBe(true);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    filter.close();
  });
});

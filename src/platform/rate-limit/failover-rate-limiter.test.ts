import { describe, expect, it } from 'vitest';
import { FakeClock } from '../clock.js';
import { FailoverRateLimiter, type RateLimitFailurePolicy } from './failover-rate-limiter.js';
import { MemoryRateLimiter } from './memory-rate-limiter.js';
import { StoreOutage, type OutageEvent } from './store-outage.js';
import type { RateLimitDecision, RateLimiter } from './types.js';

const rule = { algorithm: 'token-bucket', limit: 2, windowMs: 1000 } as const;

/** A shared store that answers from a memory limiter, or fails / hangs when told. */
class FlakyStore implements RateLimiter {
  mode: 'up' | 'down' | 'hang' = 'up';
  calls = 0;
  constructor(private readonly inner: RateLimiter) {}
  consume(key: string, cost?: number): Promise<RateLimitDecision> {
    this.calls++;
    if (this.mode === 'down') return Promise.reject(new Error('connect ECONNREFUSED'));
    if (this.mode === 'hang') return new Promise(() => undefined);
    return this.inner.consume(key, cost);
  }
}

function setup(policy: RateLimitFailurePolicy, timeoutMs = 50) {
  const clock = new FakeClock();
  const events: OutageEvent[] = [];
  const failures: RateLimitFailurePolicy[] = [];
  const outage = new StoreOutage({ clock, probeIntervalMs: 1000, onChange: (e) => events.push(e) });
  const store = new FlakyStore(new MemoryRateLimiter(rule, { clock, maxKeys: 100 }));
  const local = new MemoryRateLimiter(rule, { clock, maxKeys: 100 });
  const limiter = new FailoverRateLimiter(store, { policy, local, limit: 2, outage, timeoutMs, onFailure: (p) => failures.push(p) });
  return { clock, events, failures, store, limiter, outage };
}

describe('FailoverRateLimiter', () => {
  it('passes the store’s decisions through while it answers', async () => {
    const { limiter, events, failures } = setup('closed');
    expect(await limiter.consume('k')).toMatchObject({ allowed: true, remaining: 1 });
    expect(await limiter.consume('k')).toMatchObject({ allowed: true, remaining: 0 });
    expect(await limiter.consume('k')).toMatchObject({ allowed: false, retryAfterMs: 500 });
    expect(events).toEqual([]);
    expect(failures).toEqual([]);
  });

  it.each([
    ['open', [true, true, true, true]],
    ['closed', [false, false, false, false]],
    ['local', [true, true, false, false]], // the in-process limiter of the same rule
  ] as const)('policy %s decides while the store is down', async (policy, expected) => {
    const { limiter, store } = setup(policy);
    store.mode = 'down';
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.consume('k'));
    expect(decisions.map((d) => d.allowed)).toEqual(expected);
    for (const d of decisions) expect(d.limit).toBe(2);
    if (policy === 'closed') expect(decisions[0]).toMatchObject({ remaining: 0, retryAfterMs: 1000 });
  });

  it('reports an outage once, counts every check the policy decided, and probes once per interval', async () => {
    const { limiter, store, clock, events, failures } = setup('open');
    store.mode = 'down';
    for (let i = 0; i < 10; i++) await limiter.consume(`k${i}`);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ state: 'down' });
    expect(failures).toEqual(Array(10).fill('open'));
    expect(store.calls).toBe(1); // the other 9 did not wait on a dead store
    clock.advance(1000);
    for (let i = 0; i < 5; i++) await limiter.consume('k');
    expect(store.calls).toBe(2); // one probe, still down
    expect(events).toHaveLength(1);

    store.mode = 'up';
    clock.advance(1000);
    expect(await limiter.consume('k')).toMatchObject({ allowed: true, remaining: 1 }); // the probe, answered by the store
    expect(events).toHaveLength(2);
    expect(events[1]).toEqual({ state: 'up', downMs: 2000, failedChecks: 15 });
    await limiter.consume('k');
    expect(store.calls).toBe(4); // back to every check
  });

  it('a store slower than timeoutMs counts as down', async () => {
    const { limiter, store, events, failures } = setup('closed', 20);
    store.mode = 'hang';
    const started = Date.now();
    expect(await limiter.consume('k')).toMatchObject({ allowed: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    expect(events).toMatchObject([{ state: 'down' }]);
    expect(String((events[0] as { error: unknown }).error)).toMatch(/within 20 ms/);
    expect(failures).toEqual(['closed']);
  });

  it('one outage tracker shared by several limiters reports once', async () => {
    const { store, outage, events } = setup('open');
    const clock = new FakeClock();
    const second = new FailoverRateLimiter(store, {
      policy: 'open',
      local: new MemoryRateLimiter(rule, { clock, maxKeys: 1 }),
      limit: 2,
      outage,
      timeoutMs: 50,
    });
    const first = new FailoverRateLimiter(store, { policy: 'open', local: second, limit: 2, outage, timeoutMs: 50 });
    store.mode = 'down';
    await first.consume('a');
    await second.consume('b');
    expect(events).toHaveLength(1);
  });

  it('a bad cost is the caller’s error, not an outage', async () => {
    const { limiter, events } = setup('open');
    await expect(limiter.consume('k', -1)).rejects.toThrow(RangeError);
    expect(events).toEqual([]);
    expect(await limiter.consume('k')).toMatchObject({ allowed: true });
  });
});

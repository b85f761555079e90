import { describe, expect, it } from 'vitest';
import { FakeClock } from '../clock.js';
import { circuitBreaker, CircuitBreaker, type CircuitBreakerOptions, type CircuitEvent } from './circuit-breaker.js';
import { BrokenCircuitError, BulkheadRejectedError, PermanentError, RetryableError } from './errors.js';
import { FakeTimers, flushMicrotasks } from './timers.js';

function setup(options: Omit<CircuitBreakerOptions, 'clock' | 'timers'> = {}) {
  const clock = new FakeClock();
  const timers = new FakeTimers(clock);
  const breaker = circuitBreaker({ ...options, clock, timers });
  const events: CircuitEvent[] = [];
  breaker.on((e) => events.push(e));
  const transitions = () => events.flatMap((e) => (e.type === 'state-change' ? [`${e.from}→${e.to} (${e.reason})`] : []));
  return { clock, timers, breaker, events, transitions };
}

const ok = async () => 'ok';
const fail = async (): Promise<string> => {
  throw new RetryableError('503');
};

async function failTimes(breaker: CircuitBreaker, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await breaker.execute(fail).catch(() => undefined);
}

function deferred<T = string>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('circuitBreaker: consecutive failures', () => {
  it('opens on the Nth failure in a row; a success in between resets the count', async () => {
    const { breaker } = setup({ consecutiveFailures: 5 });
    await failTimes(breaker, 4);
    await breaker.execute(ok);
    await failTimes(breaker, 4);
    expect(breaker.state.kind).toBe('closed');
    await failTimes(breaker, 1);
    expect(breaker.state.kind).toBe('open');
  });

  it('open rejects fast with BrokenCircuitError and the time left, without calling the function', async () => {
    const { clock, breaker } = setup({ consecutiveFailures: 2, openMs: 30_000 });
    await failTimes(breaker, 2);
    clock.advance(10_000);
    let called = false;
    const err = await breaker
      .execute(async () => {
        called = true;
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokenCircuitError);
    expect(err).toMatchObject({ state: 'open', retryAfterMs: 20_000 });
    expect(called).toBe(false);
  });

  it('open → half-open exactly after openMs → closed on a successful probe', async () => {
    const { clock, breaker, transitions } = setup({ consecutiveFailures: 1, openMs: 1000 });
    await failTimes(breaker, 1);
    clock.advance(999);
    await expect(breaker.execute(ok)).rejects.toBeInstanceOf(BrokenCircuitError);
    clock.advance(1);
    await expect(breaker.execute(ok)).resolves.toBe('ok');
    expect(breaker.state).toEqual({ kind: 'closed' });
    expect(transitions()).toEqual(['closed→open (consecutive-failures)', 'open→half-open (open-elapsed)', 'half-open→closed (probes-succeeded)']);
  });

  it('the state is a discriminated union with the open window and the probe counters', async () => {
    const { clock, breaker } = setup({ consecutiveFailures: 1, openMs: 1000, successThreshold: 2 });
    const t0 = clock.now();
    await failTimes(breaker, 1);
    expect(breaker.state).toEqual({ kind: 'open', since: t0, until: t0 + 1000, reopens: 0 });
    clock.advance(1000);
    const gate = deferred();
    const probe = breaker.execute(() => gate.promise);
    expect(breaker.state).toEqual({ kind: 'half-open', since: t0 + 1000, reopens: 0, probes: 1, successes: 0 });
    gate.resolve('ok');
    await probe;
    expect(breaker.state).toMatchObject({ kind: 'half-open', probes: 0, successes: 1 });
  });
});

describe('circuitBreaker: half-open', () => {
  it('needs successThreshold successes; while the probe runs every other call is rejected', async () => {
    const { clock, breaker } = setup({ consecutiveFailures: 1, openMs: 1000, halfOpenProbes: 1, successThreshold: 3 });
    await failTimes(breaker, 1);
    clock.advance(1000);
    for (let i = 0; i < 3; i++) {
      expect(breaker.state.kind).toBe('half-open');
      const gate = deferred();
      const probe = breaker.execute(() => gate.promise);
      const other = await breaker.execute(ok).catch((e: unknown) => e);
      expect(other).toMatchObject({ name: 'BrokenCircuitError', state: 'half-open', retryAfterMs: 0 });
      gate.resolve('ok');
      await probe;
    }
    expect(breaker.state.kind).toBe('closed');
  });

  it('a failed probe reopens; the open time doubles each failed round, capped, and resets on close', async () => {
    const { clock, breaker } = setup({ consecutiveFailures: 1, openMs: 1000, openBackoffFactor: 2, maxOpenMs: 5000 });
    await failTimes(breaker, 1);
    const openFor: number[] = [];
    for (let round = 0; round < 5; round++) {
      const s = breaker.state;
      if (s.kind !== 'open') throw new Error(`expected open, got ${s.kind}`);
      openFor.push(s.until - s.since);
      clock.advance(s.until - clock.now());
      await failTimes(breaker, 1); // the probe fails
    }
    expect(openFor).toEqual([1000, 2000, 4000, 5000, 5000]);
    clock.advance(5000);
    await breaker.execute(ok);
    expect(breaker.state.kind).toBe('closed');
    await failTimes(breaker, 1);
    const s = breaker.state;
    expect(s.kind === 'open' && s.until - s.since).toBe(1000);
  });

  it('never lets more than halfOpenProbes calls reach a stalled backend, even with 1,000 concurrent callers', async () => {
    const { clock, timers, breaker, events, transitions } = setup({ consecutiveFailures: 1, openMs: 1000, halfOpenProbes: 3, probeTimeoutMs: 5000 });
    await failTimes(breaker, 1);
    let reached = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const stalled = () => {
      reached++;
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      return new Promise<string>(() => {}); // never settles
    };
    for (let round = 1; round <= 2; round++) {
      const s = breaker.state;
      if (s.kind !== 'open') throw new Error('expected open');
      clock.advance(s.until - clock.now());
      const settled = Promise.allSettled(Array.from({ length: 1000 }, () => breaker.execute(stalled)));
      await flushMicrotasks();
      expect(reached).toBe(3 * round);
      // The probes time out: the breaker reopens (with a longer open time) and frees their slots.
      expect(events.filter((e) => e.type === 'rejected')).toHaveLength(997 * round);
      // The probes time out: the breaker reopens (with a longer open time) and frees their slots.
      await timers.advance(5000);
      inFlight = 0;
      expect(breaker.state.kind).toBe('open');
      void settled;
    }
    expect(maxInFlight).toBe(3);
    expect(transitions()).toEqual([
      'closed→open (consecutive-failures)',
      'open→half-open (open-elapsed)',
      'half-open→open (probe-timeout)',
      'open→half-open (open-elapsed)',
      'half-open→open (probe-timeout)',
    ]);
  });

  it('the 997 callers beyond the probes are rejected with BrokenCircuitError at once', async () => {
    const { clock, breaker } = setup({ consecutiveFailures: 1, openMs: 1000, halfOpenProbes: 3 });
    await failTimes(breaker, 1);
    clock.advance(1000);
    const gate = deferred();
    const calls = Array.from({ length: 1000 }, () => breaker.execute(() => gate.promise));
    const early = await Promise.allSettled(calls.slice(3));
    expect(early.every((r) => r.status === 'rejected' && r.reason instanceof BrokenCircuitError)).toBe(true);
    gate.resolve('ok');
    expect(await Promise.all(calls.slice(0, 3))).toEqual(['ok', 'ok', 'ok']);
    expect(breaker.state.kind).toBe('closed');
  });

  it('a probe that succeeds after its timeout does not close the breaker', async () => {
    const { clock, timers, breaker } = setup({ consecutiveFailures: 1, openMs: 1000, probeTimeoutMs: 2000 });
    await failTimes(breaker, 1);
    clock.advance(1000);
    const gate = deferred();
    const probe = breaker.execute(() => gate.promise);
    await timers.advance(2000);
    expect(breaker.state.kind).toBe('open');
    gate.resolve('late');
    await expect(probe).resolves.toBe('late'); // the caller still gets its value
    expect(breaker.state).toMatchObject({ kind: 'open', reopens: 1 });
    expect(timers.size).toBe(0);
  });

  it('a probe whose caller aborts frees its slot without a verdict', async () => {
    const { clock, breaker } = setup({ consecutiveFailures: 1, openMs: 1000 });
    await failTimes(breaker, 1);
    clock.advance(1000);
    const controller = new AbortController();
    const probe = breaker.execute(
      ({ signal }) =>
        new Promise((_, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
      controller.signal,
    );
    controller.abort(new Error('user left'));
    await expect(probe).rejects.toThrow('user left');
    expect(breaker.state).toMatchObject({ kind: 'half-open', probes: 0, successes: 0 });
    await expect(breaker.execute(ok)).resolves.toBe('ok');
    expect(breaker.state.kind).toBe('closed');
  });
});

describe('circuitBreaker: failure rate and slow calls', () => {
  it('count window: opens at the threshold only once minimumCalls are in the window', async () => {
    const { breaker } = setup({ failureRate: { threshold: 0.5, minimumCalls: 10, window: { type: 'count', size: 10 } } });
    await failTimes(breaker, 5); // 5/5 failed, but below the minimum volume
    expect(breaker.state.kind).toBe('closed');
    for (let i = 0; i < 4; i++) await breaker.execute(ok); // 9 calls, 5 failed
    expect(breaker.state.kind).toBe('closed');
    await failTimes(breaker, 1); // 10 calls, 6 failed
    expect(breaker.state.kind).toBe('open');
  });

  it('count window slides: old failures leave it', async () => {
    const { breaker, transitions } = setup({ failureRate: { threshold: 0.75, minimumCalls: 4, window: { type: 'count', size: 4 } } });
    await failTimes(breaker, 2);
    for (let i = 0; i < 4; i++) await breaker.execute(ok); // window: S S S S
    await failTimes(breaker, 2); // S S F F: 50%
    expect(breaker.state.kind).toBe('closed');
    await failTimes(breaker, 1); // S F F F: 75%
    expect(transitions()).toEqual(['closed→open (failure-rate)']);
  });

  it('time window: failures older than the window do not count', async () => {
    const { clock, breaker } = setup({ failureRate: { threshold: 0.5, minimumCalls: 4, window: { type: 'time', ms: 10_000, buckets: 10 } } });
    await failTimes(breaker, 3);
    clock.advance(10_000);
    await failTimes(breaker, 3); // the first 3 have left: 3 calls < minimum
    expect(breaker.state.kind).toBe('closed');
    clock.advance(5000);
    await failTimes(breaker, 1); // 4 calls in the last 10 s, all failed
    expect(breaker.state.kind).toBe('open');
  });

  it('consecutive failures and the failure rate can both be on', async () => {
    const { breaker, transitions } = setup({ consecutiveFailures: 3, failureRate: { threshold: 0.5, minimumCalls: 100 } });
    await failTimes(breaker, 3);
    expect(transitions()).toEqual(['closed→open (consecutive-failures)']);
  });

  it('slow successful calls count as failures (strictly over slowCallMs)', async () => {
    const { clock, breaker, events } = setup({ consecutiveFailures: 3, slowCallMs: 100 });
    const takes = (ms: number) => async () => {
      clock.advance(ms);
      return 'ok';
    };
    await breaker.execute(takes(150));
    await breaker.execute(takes(150));
    await breaker.execute(takes(100)); // not slow: resets the run
    expect(breaker.state.kind).toBe('closed');
    for (let i = 0; i < 3; i++) await expect(breaker.execute(takes(101))).resolves.toBe('ok');
    expect(breaker.state.kind).toBe('open');
    expect(events.filter((e) => e.type === 'call').map((e) => e.type === 'call' && e.slow)).toEqual([true, true, false, true, true, true]);
  });

  it('a slow probe reopens the breaker', async () => {
    const { clock, breaker } = setup({ consecutiveFailures: 1, openMs: 1000, slowCallMs: 100 });
    await failTimes(breaker, 1);
    clock.advance(1000);
    await breaker.execute(async () => {
      clock.advance(500);
    });
    expect(breaker.state).toMatchObject({ kind: 'open', reopens: 1 });
  });

  it('permanent errors and bulkhead rejections do not count by default; isFailure can change that', async () => {
    const permanent = async () => {
      throw new PermanentError('400');
    };
    const rejectedLocally = async () => {
      throw new BulkheadRejectedError(1, 0);
    };
    const a = setup({ consecutiveFailures: 2 });
    for (let i = 0; i < 5; i++) await a.breaker.execute(permanent).catch(() => undefined);
    for (let i = 0; i < 5; i++) await a.breaker.execute(rejectedLocally).catch(() => undefined);
    expect(a.breaker.state.kind).toBe('closed');
    const b = setup({ consecutiveFailures: 2, isFailure: () => true });
    for (let i = 0; i < 2; i++) await b.breaker.execute(permanent).catch(() => undefined);
    expect(b.breaker.state.kind).toBe('open');
  });

  it('outcomes of calls admitted before the breaker opened are ignored', async () => {
    const { clock, breaker } = setup({ consecutiveFailures: 2, openMs: 1000 });
    const gates = [deferred(), deferred()];
    const slowCalls = gates.map((g) => breaker.execute(() => g.promise));
    await failTimes(breaker, 2);
    expect(breaker.state.kind).toBe('open');
    clock.advance(1000);
    const gate = deferred();
    const probe = breaker.execute(() => gate.promise);
    gates.forEach((g) => g.resolve('late')); // would close a naive breaker
    await Promise.all(slowCalls);
    expect(breaker.state).toMatchObject({ kind: 'half-open', probes: 1, successes: 0 });
    gate.reject(new RetryableError('still down'));
    await probe.catch(() => undefined);
    expect(breaker.state.kind).toBe('open');
  });

  it('a throwing listener does not change the outcome of a call', async () => {
    const { breaker } = setup({ consecutiveFailures: 1 });
    breaker.on(() => {
      throw new Error('metrics bug');
    });
    await expect(breaker.execute(ok)).resolves.toBe('ok');
    await expect(breaker.execute(fail)).rejects.toBeInstanceOf(RetryableError);
    expect(breaker.state.kind).toBe('open');
  });

  it('emits rejections for metrics', async () => {
    const { breaker, events } = setup({ consecutiveFailures: 1 });
    await failTimes(breaker, 1);
    await breaker.execute(ok).catch(() => undefined);
    expect(events.filter((e) => e.type === 'rejected')).toEqual([{ type: 'rejected', state: 'open' }]);
  });
});

describe('circuitBreaker: toJSON / fromJSON', () => {
  it('an open breaker restored elsewhere stays open until the same instant', async () => {
    const { clock, breaker } = setup({ consecutiveFailures: 1, openMs: 1000 });
    await failTimes(breaker, 1);
    const text = JSON.stringify(breaker);
    const restored = CircuitBreaker.fromJSON(text, { clock, consecutiveFailures: 1, openMs: 1000 });
    expect(restored.state).toEqual(breaker.state);
    clock.advance(999);
    await expect(restored.execute(ok)).rejects.toMatchObject({ retryAfterMs: 1 });
    clock.advance(1);
    await expect(restored.execute(ok)).resolves.toBe('ok');
  });

  it('keeps the consecutive count and the window contents', async () => {
    const options = { failureRate: { threshold: 0.5, minimumCalls: 4, window: { type: 'count' as const, size: 4 } }, consecutiveFailures: 3 };
    const { clock, breaker } = setup(options);
    await breaker.execute(ok);
    await failTimes(breaker, 2);
    const snapshot = JSON.parse(JSON.stringify(breaker.toJSON()));
    expect(snapshot).toEqual({ v: 1, state: { kind: 'closed' }, consecutiveFailures: 2, window: [0, 1, 1] });
    const restored = CircuitBreaker.fromJSON(snapshot, { ...options, clock });
    await restored.execute(ok); // S F F S: 50% of 4 → but only checked on a failure
    expect(restored.state.kind).toBe('closed');
    await restored.execute(fail).catch(() => undefined); // F F S F: 75%
    expect(restored.state.kind).toBe('open');
  });

  it('a half-open snapshot restores with free probe slots', async () => {
    const { clock, breaker } = setup({ consecutiveFailures: 1, openMs: 1000 });
    await failTimes(breaker, 1);
    clock.advance(1000);
    void breaker.execute(() => new Promise(() => {}));
    const restored = CircuitBreaker.fromJSON(breaker.toJSON(), { clock, consecutiveFailures: 1 });
    expect(restored.state).toMatchObject({ kind: 'half-open', probes: 0, successes: 0 });
  });

  it.each([
    ['null', null],
    ['wrong version', { v: 2, state: { kind: 'closed' }, consecutiveFailures: 0, window: [] }],
    ['unknown state', { v: 1, state: { kind: 'ajar' }, consecutiveFailures: 0, window: [] }],
    ['open without until', { v: 1, state: { kind: 'open', since: 1, reopens: 0 }, consecutiveFailures: 0, window: [] }],
    ['bad counter', { v: 1, state: { kind: 'closed' }, consecutiveFailures: -0.5, window: [] }],
    ['bad window', { v: 1, state: { kind: 'closed' }, consecutiveFailures: 0, window: ['x'] }],
  ])('rejects a malformed snapshot: %s', (_name, json) => {
    expect(() => CircuitBreaker.fromJSON(json, { clock: new FakeClock() })).toThrow(TypeError);
  });
});

describe('circuitBreaker: options', () => {
  it.each<[string, Partial<CircuitBreakerOptions>]>([
    ['consecutiveFailures 0', { consecutiveFailures: 0 }],
    ['threshold 0', { failureRate: { threshold: 0 } }],
    ['threshold 1.5', { failureRate: { threshold: 1.5 } }],
    ['halfOpenProbes 0', { halfOpenProbes: 0 }],
    ['successThreshold 2.5', { successThreshold: 2.5 }],
    ['openBackoffFactor 0.5', { openBackoffFactor: 0.5 }],
    ['openMs -1', { openMs: -1 }],
    ['minimumCalls above the count window', { failureRate: { minimumCalls: 20, window: { type: 'count', size: 10 } } }],
  ])('rejects %s', (_name, options) => {
    expect(() => circuitBreaker({ clock: new FakeClock(), ...options })).toThrow(RangeError);
  });
});

import { describe, expect, it } from 'vitest';
import { FakeClock } from '../clock.js';
import { TnyError } from '../errors.js';
import { exponentialBackoff } from './backoff.js';
import { PermanentError, RetryableError, TimeoutError } from './errors.js';
import { retry, type RetryEvent, type RetryOptions } from './retry.js';
import { RetryBudget } from './retry-budget.js';
import { FakeTimers } from './timers.js';

function setup(options: Omit<RetryOptions, 'clock' | 'timers'> = {}) {
  const clock = new FakeClock();
  const timers = new FakeTimers(clock);
  const policy = retry({ backoff: exponentialBackoff({ jitter: 'full', baseMs: 100, capMs: 10_000, random: () => 0.5 }), ...options, clock, timers });
  const events: RetryEvent[] = [];
  policy.on((e) => events.push(e));
  return { clock, timers, policy, events, t0: clock.now() };
}

/** A function that throws the given errors in turn, then returns 'ok'; records when it ran. */
function flaky(errors: unknown[], clock: FakeClock) {
  const calls: { at: number; attempt: number | undefined }[] = [];
  const fn = async (ctx: { attempt?: number }) => {
    calls.push({ at: clock.now(), attempt: ctx.attempt });
    const err = errors[calls.length - 1];
    if (err !== undefined) throw err;
    return 'ok';
  };
  return { fn, calls };
}

const transient = () => new RetryableError('503');

describe('retry', () => {
  it('retries retryable errors on an exact full-jitter schedule and passes the attempt number', async () => {
    const { clock, timers, policy, events, t0 } = setup({ maxAttempts: 4 });
    const { fn, calls } = flaky([transient(), transient(), transient()], clock);
    const result = policy.execute(fn);
    await timers.advance(10_000);
    await expect(result).resolves.toBe('ok');
    expect(timers.scheduled).toEqual([50, 100, 200]);
    expect(calls.map((c) => [c.at - t0, c.attempt])).toEqual([
      [0, 1],
      [50, 2],
      [150, 3],
      [350, 4],
    ]);
    expect(events.map((e) => (e.type === 'retry' ? e.delayMs : e.reason))).toEqual([50, 100, 200]);
  });

  it('an attempt is not made one millisecond early', async () => {
    const { clock, timers, policy } = setup();
    const { fn, calls } = flaky([transient()], clock);
    const result = policy.execute(fn);
    await timers.advance(49);
    expect(calls).toHaveLength(1);
    await timers.advance(1);
    expect(calls).toHaveLength(2);
    await expect(result).resolves.toBe('ok');
  });

  it('gives up after maxAttempts and throws the last error itself', async () => {
    const { clock, timers, policy, events } = setup({ maxAttempts: 3 });
    const errors = [transient(), transient(), transient(), transient()];
    const { fn, calls } = flaky(errors, clock);
    const result = policy.execute(fn);
    const settled = expect(result).rejects.toBe(errors[2]);
    await timers.advance(60_000);
    await settled;
    expect(calls).toHaveLength(3);
    expect(events.at(-1)).toMatchObject({ type: 'give-up', attempts: 3, reason: 'max-attempts' });
  });

  it.each<[string, unknown, number]>([
    ['PermanentError', new PermanentError('400 bad number'), 1],
    ['a plain Error (unknown: not retried)', new Error('boom'), 1],
    ['a string', 'boom', 1],
    ['TnyError VALIDATION_ERROR', new TnyError('VALIDATION_ERROR'), 1],
    ['TnyError SERVICE_UNAVAILABLE (retryable)', new TnyError('SERVICE_UNAVAILABLE'), 2],
    ['an error marked { retryable: true }', Object.assign(new Error('x'), { retryable: true }), 2],
    ['TimeoutError', new TimeoutError(100), 2],
  ])('%s → %i call(s)', async (_name, error, expectedCalls) => {
    const { clock, timers, policy } = setup({ maxAttempts: 2 });
    const { fn, calls } = flaky([error], clock);
    const result = policy.execute(fn).catch((e: unknown) => ({ thrown: e }));
    await timers.advance(1000);
    expect(calls).toHaveLength(expectedCalls);
    expect(await result).toEqual(expectedCalls === 1 ? { thrown: error } : 'ok');
  });

  it('reports why a non-retryable error was not retried', async () => {
    const { clock, policy, events, timers } = setup();
    const err = new PermanentError('unknown recipient');
    await expect(policy.execute(flaky([err], clock).fn)).rejects.toBe(err);
    expect(events).toEqual([{ type: 'give-up', attempts: 1, reason: 'not-retryable', error: err }]);
    expect(timers.scheduled).toEqual([]);
  });

  it('takes a custom classifier', async () => {
    const { clock, timers, policy } = setup({ isRetryable: (e) => e instanceof Error && e.message === 'ECONNRESET' });
    const { fn, calls } = flaky([new Error('ECONNRESET'), new RetryableError('not by this classifier')], clock);
    const result = policy.execute(fn).catch((e: unknown) => e);
    await timers.advance(1000);
    expect(calls).toHaveLength(2);
    expect(await result).toBeInstanceOf(RetryableError);
  });

  it('honours Retry-After when it is longer than the backoff', async () => {
    const { clock, timers, policy, events, t0 } = setup();
    const { fn, calls } = flaky([new RetryableError('429', { retryAfterMs: 5000 }), new RetryableError('429', { retryAfterMs: 10 })], clock);
    const result = policy.execute(fn);
    await timers.advance(4999);
    expect(calls).toHaveLength(1);
    await timers.advance(1);
    expect(calls).toHaveLength(2);
    await timers.advance(1000);
    await expect(result).resolves.toBe('ok');
    // The second wait is the backoff's 100 ms: a Retry-After of 10 ms does not shorten it.
    expect(calls.map((c) => c.at - t0)).toEqual([0, 5000, 5100]);
    expect(events[0]).toMatchObject({ type: 'retry', delayMs: 5000, retryAfterMs: 5000 });
  });

  it('gives up at once on a Retry-After longer than maxRetryAfterMs, keeping retryAfterMs on the error', async () => {
    const { clock, policy, events, timers } = setup({ maxRetryAfterMs: 30_000 });
    const err = new RetryableError('429', { retryAfterMs: 3_600_000 });
    const { fn, calls } = flaky([err], clock);
    await expect(policy.execute(fn)).rejects.toMatchObject({ retryAfterMs: 3_600_000 });
    expect(calls).toHaveLength(1);
    expect(timers.size).toBe(0);
    expect(events.at(-1)).toMatchObject({ reason: 'retry-after-too-long' });
  });

  it('maxElapsedMs counts the calls’ own time and stops a retry that would start too late', async () => {
    const { clock, timers, policy, events, t0 } = setup({
      maxAttempts: 10,
      maxElapsedMs: 1000,
      backoff: exponentialBackoff({ jitter: 'none', baseMs: 100 }),
    });
    const calls: number[] = [];
    const result = policy
      .execute(async () => {
        calls.push(clock.now() - t0);
        clock.advance(150); // each call takes 150 ms
        throw transient();
      })
      .catch((e: unknown) => e);
    await timers.advance(10_000);
    expect(await result).toBeInstanceOf(RetryableError);
    // Starts: 0; 150+100 = 250; 400+200 = 600; the next would start at 750+400 = 1150 > 1000.
    expect(calls).toEqual([0, 250, 600]);
    expect(events.at(-1)).toMatchObject({ type: 'give-up', attempts: 3, reason: 'max-elapsed' });
  });

  it('a retry budget caps retries at ratio × calls (plus what was saved)', async () => {
    const clock = new FakeClock();
    const budget = new RetryBudget({ clock, ratio: 0.1, minPerSecond: 0, maxTokens: 2 });
    const policy = retry({ maxAttempts: 2, budget, clock, backoff: { delay: () => 0 } });
    let backendCalls = 0;
    const reasons: string[] = [];
    policy.on((e) => e.type === 'give-up' && reasons.push(e.reason));
    for (let i = 0; i < 100; i++) {
      await policy
        .execute(async () => {
          backendCalls++;
          throw transient();
        })
        .catch(() => undefined);
    }
    // 2 saved retries, then one per 10 calls: calls 11, 21, …, 91 → 9 more. Without a budget: 200 calls.
    expect(backendCalls - 100).toBe(11);
    expect(reasons.filter((r) => r === 'budget')).toHaveLength(89);
  });

  it('the budget floor allows minPerSecond retries however few calls there are', async () => {
    const clock = new FakeClock();
    const budget = new RetryBudget({ clock, ratio: 0, minPerSecond: 1, maxTokens: 1 });
    const policy = retry({ maxAttempts: 5, budget, clock, backoff: { delay: () => 0 } });
    let backendCalls = 0;
    const failing = async () => {
      backendCalls++;
      throw transient();
    };
    await policy.execute(failing).catch(() => undefined);
    expect(backendCalls).toBe(2); // the one saved retry
    clock.advance(1000);
    await policy.execute(failing).catch(() => undefined);
    expect(backendCalls).toBe(4); // one more earned by a second of time
  });

  it('200 concurrent failing callers share the budget: retries stop at the saved tokens', async () => {
    const clock = new FakeClock();
    const timers = new FakeTimers(clock);
    const budget = new RetryBudget({ clock, ratio: 0.1, minPerSecond: 0, maxTokens: 10 });
    const policy = retry({ maxAttempts: 3, budget, clock, timers, backoff: exponentialBackoff({ jitter: 'none', baseMs: 10 }) });
    let backendCalls = 0;
    const all = Promise.allSettled(
      Array.from({ length: 200 }, () =>
        policy.execute(async () => {
          backendCalls++;
          await Promise.resolve();
          throw transient();
        }),
      ),
    );
    await timers.advance(1000);
    const settled = await all;
    expect(settled.every((s) => s.status === 'rejected')).toBe(true);
    // All 200 deposits land while the bucket is already full (capped at 10), so exactly
    // 10 retries happen; without the budget it would be 200 × 3 = 600 calls.
    expect(backendCalls).toBe(210);
  });

  it('an abort during the backoff stops at once with the abort reason and clears the timer', async () => {
    const { clock, timers, policy, events } = setup({ maxAttempts: 5 });
    const { fn, calls } = flaky([transient(), transient()], clock);
    const controller = new AbortController();
    const result = policy.execute(fn, controller.signal);
    await timers.advance(10);
    expect(timers.size).toBe(1);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await expect(result).rejects.toBe(reason);
    expect(timers.size).toBe(0);
    await timers.advance(10_000);
    expect(calls).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'give-up', reason: 'aborted' });
  });

  it('an already aborted signal makes no call', async () => {
    const { clock, policy } = setup();
    const { fn, calls } = flaky([], clock);
    await expect(policy.execute(fn, AbortSignal.abort(new Error('no')))).rejects.toThrow('no');
    expect(calls).toHaveLength(0);
  });

  it('does not retry a failure that happened after the caller aborted', async () => {
    const { clock, policy, events } = setup();
    const controller = new AbortController();
    const { fn, calls } = flaky([transient()], clock);
    await expect(
      policy.execute(async (ctx) => {
        controller.abort();
        return fn(ctx);
      }, controller.signal),
    ).rejects.toBeInstanceOf(RetryableError);
    expect(calls).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ reason: 'aborted' });
  });

  it('passes the caller’s signal to every attempt', async () => {
    const { timers, policy } = setup();
    const controller = new AbortController();
    const seen: AbortSignal[] = [];
    const result = policy.execute(async ({ signal }) => {
      seen.push(signal);
      if (seen.length < 2) throw transient();
      return 1;
    }, controller.signal);
    await timers.advance(1000);
    await expect(result).resolves.toBe(1);
    expect(seen).toEqual([controller.signal, controller.signal]);
  });

  it.each([[{ maxAttempts: 0 }], [{ maxAttempts: 1.5 }], [{ maxElapsedMs: -1 }], [{ maxRetryAfterMs: -5 }]])('rejects %j', (options) => {
    expect(() => retry(options)).toThrow(RangeError);
  });
});

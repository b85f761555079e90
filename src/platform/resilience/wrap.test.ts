import { describe, expect, it } from 'vitest';
import { FakeClock } from '../clock.js';
import { exponentialBackoff } from './backoff.js';
import { bulkhead } from './bulkhead.js';
import { circuitBreaker } from './circuit-breaker.js';
import { BrokenCircuitError, BulkheadRejectedError, TimeoutError } from './errors.js';
import { fallback } from './fallback.js';
import type { Policy, PolicyFn } from './policy.js';
import { retry } from './retry.js';
import { timeout } from './timeout.js';
import { FakeTimers } from './timers.js';
import { wrap } from './wrap.js';

/** A policy that records when calls enter and leave it. */
function tracer(name: string, log: string[]): Policy {
  return {
    _alt: undefined as never,
    async execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T> {
      log.push(`${name}>`);
      try {
        return await fn({ signal: signal ?? new AbortController().signal });
      } finally {
        log.push(`<${name}`);
      }
    },
  };
}

/** Settles only when its signal aborts. */
const hang = ({ signal }: { signal: AbortSignal }) =>
  new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));

describe('wrap', () => {
  it('runs the policies outermost first', async () => {
    const log: string[] = [];
    const policy = wrap(tracer('a', log), tracer('b', log), tracer('c', log));
    await policy.execute(async () => void log.push('fn'));
    expect(log).toEqual(['a>', 'b>', 'c>', 'fn', '<c', '<b', '<a']);
  });

  it('timeout inside retry: each attempt gets its own deadline and its attempt number', async () => {
    const clock = new FakeClock();
    const timers = new FakeTimers(clock);
    const policy = wrap(
      retry({ maxAttempts: 3, clock, timers, backoff: exponentialBackoff({ jitter: 'none', baseMs: 100 }) }),
      timeout(1000, { timers }),
    );
    const seen: { attempt: number | undefined; signal: AbortSignal }[] = [];
    const result = policy.execute((ctx) => {
      seen.push({ attempt: ctx.attempt, signal: ctx.signal });
      return ctx.attempt === 3 ? 'third time' : hang(ctx);
    });
    await timers.advance(1000); // attempt 1 times out
    expect(seen[0]?.signal.aborted).toBe(true);
    expect(seen[0]?.signal.reason).toBeInstanceOf(TimeoutError);
    await timers.advance(100 + 1000 + 200);
    await expect(result).resolves.toBe('third time');
    expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3]);
    expect(new Set(seen.map((s) => s.signal)).size).toBe(3);
  });

  it('timeout outside retry: one deadline for all attempts, and the backoff wait is cut short', async () => {
    const clock = new FakeClock();
    const timers = new FakeTimers(clock);
    const policy = wrap(timeout(250, { timers }), retry({ maxAttempts: 10, clock, timers, backoff: exponentialBackoff({ jitter: 'none', baseMs: 100 }) }));
    let calls = 0;
    const result = policy
      .execute(async () => {
        calls++;
        throw new TimeoutError(1); // retryable
      })
      .catch((e: unknown) => e);
    await timers.advance(10_000);
    expect(await result).toBeInstanceOf(TimeoutError);
    expect(calls).toBe(2); // at 0 and 100; the next would be at 300 > 250
    expect(timers.size).toBe(0);
  });

  it('breaker around timeout: hung calls become failures that open it', async () => {
    const clock = new FakeClock();
    const timers = new FakeTimers(clock);
    const breaker = circuitBreaker({ clock, timers, consecutiveFailures: 3 });
    const policy = wrap(breaker, timeout(500, { timers }));
    let reached = 0;
    for (let i = 0; i < 3; i++) {
      const outcome = policy
        .execute((ctx) => {
          reached++;
          return hang(ctx);
        })
        .catch((e: unknown) => e);
      await timers.advance(500);
      expect(await outcome).toBeInstanceOf(TimeoutError);
    }
    expect(breaker.state.kind).toBe('open');
    await expect(policy.execute(async () => 'x')).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(reached).toBe(3);
  });

  it('the caller’s abort reaches the function through every layer', async () => {
    const clock = new FakeClock();
    const timers = new FakeTimers(clock);
    const policy = wrap(retry({ clock, timers }), circuitBreaker({ clock, timers }), timeout(10_000, { timers }));
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const outcome = policy
      .execute((ctx) => {
        seen = ctx.signal;
        return hang(ctx);
      }, controller.signal)
      .catch((e: unknown) => e);
    const reason = new Error('request cancelled');
    controller.abort(reason);
    expect(await outcome).toBe(reason);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe(reason);
  });

  it('fallback outermost answers with its value once everything inside has failed', async () => {
    const clock = new FakeClock();
    const timers = new FakeTimers(clock);
    const breaker = circuitBreaker({ clock, timers, consecutiveFailures: 1 });
    const policy = wrap(
      fallback((err) => ({ sent: false, reason: (err as Error).name })),
      retry({ clock, timers, backoff: exponentialBackoff({ jitter: 'none', baseMs: 10 }) }),
      breaker,
    );
    const failing = async (): Promise<{ sent: boolean; reason?: string }> => {
      throw new TimeoutError(100);
    };
    const result = policy.execute(failing);
    await timers.advance(1000);
    // Attempt 1 fails and opens the breaker; attempt 2 meets BrokenCircuitError, not retryable.
    expect(await result).toEqual({ sent: false, reason: 'BrokenCircuitError' });
  });

  it('the provider stack wrap(retry, bulkhead, breaker, timeout): each attempt takes a slot, overload is not retried', async () => {
    const clock = new FakeClock();
    const timers = new FakeTimers(clock);
    const breaker = circuitBreaker({ clock, timers, consecutiveFailures: 2 });
    const slots = bulkhead({ maxConcurrent: 2 });
    const policy = wrap(retry({ clock, timers, maxAttempts: 3, backoff: exponentialBackoff({ jitter: 'none', baseMs: 100 }) }), slots, breaker, timeout(1000, { timers }));
    const gate: (() => void)[] = [];
    let reached = 0;
    const call = () =>
      policy.execute(() => {
        reached++;
        return new Promise<string>((resolve) => gate.push(() => resolve('sent')));
      });
    const admitted = [call(), call()];
    const overflow = await Promise.allSettled([call(), call(), call()]);
    expect(overflow.every((r) => r.status === 'rejected' && r.reason instanceof BulkheadRejectedError)).toBe(true);
    expect(breaker.state.kind).toBe('closed'); // local overload is not the provider failing
    gate.forEach((open) => open());
    expect(await Promise.all(admitted)).toEqual(['sent', 'sent']);
    expect([reached, slots.active]).toEqual([2, 0]);
  });

  it('needs at least one policy', () => {
    expect(() => wrap()).toThrow(RangeError);
  });
});

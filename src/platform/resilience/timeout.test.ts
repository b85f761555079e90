import { describe, expect, it } from 'vitest';
import { FakeClock } from '../clock.js';
import { TimeoutError } from './errors.js';
import { timeout } from './timeout.js';
import { FakeTimers } from './timers.js';

function setup(ms: number, mode?: 'aggressive' | 'cooperative') {
  const clock = new FakeClock();
  const timers = new FakeTimers(clock);
  return { clock, timers, policy: timeout(ms, { timers, mode }) };
}

/** A call that settles only when its signal aborts (rejecting with the reason). */
const cooperativeHang = ({ signal }: { signal: AbortSignal }) =>
  new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));

describe('timeout', () => {
  it('aborts the signal given to the call at the deadline and rejects with TimeoutError', async () => {
    const { timers, policy } = setup(500);
    let seen: AbortSignal | undefined;
    const result = policy.execute((ctx) => {
      seen = ctx.signal;
      return cooperativeHang(ctx);
    });
    const outcome = result.catch((e: unknown) => e);
    await timers.advance(499);
    expect(seen?.aborted).toBe(false);
    await timers.advance(1);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBeInstanceOf(TimeoutError);
    const err = await outcome;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ timeoutMs: 500, retryable: true });
  });

  it('aggressive: rejects at the deadline even if the call ignores its signal', async () => {
    const { timers, policy } = setup(100);
    let late: ((v: string) => void) | undefined;
    const outcome = policy.execute(() => new Promise<string>((resolve) => (late = resolve))).catch((e: unknown) => e);
    await timers.advance(100);
    expect(await outcome).toBeInstanceOf(TimeoutError);
    late?.('too late'); // dropped, no unhandled rejection or double settle
  });

  it('cooperative: waits for the call; a late value is returned, a late rejection becomes TimeoutError', async () => {
    const { timers, policy } = setup(100, 'cooperative');
    let finish: ((v: string) => void) | undefined;
    let seen: AbortSignal | undefined;
    const value = policy.execute(({ signal }) => {
      seen = signal;
      return new Promise<string>((resolve) => (finish = resolve));
    });
    await timers.advance(100);
    expect(seen?.aborted).toBe(true);
    finish?.('late but here');
    await expect(value).resolves.toBe('late but here');

    const rejected = policy.execute(cooperativeHang).catch((e: unknown) => e);
    await timers.advance(100);
    expect(await rejected).toBeInstanceOf(TimeoutError);
  });

  it('a signal first read after the deadline is already aborted with the TimeoutError', async () => {
    const { timers, policy } = setup(100, 'cooperative');
    let finish: (() => void) | undefined;
    const result = policy.execute(async (ctx) => {
      await new Promise<void>((resolve) => (finish = resolve));
      return ctx.signal;
    });
    await timers.advance(100);
    finish?.();
    const signal = await result;
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(TimeoutError);
  });

  it('a signal first read after the caller aborted carries the caller’s reason', async () => {
    const { policy } = setup(1000, 'cooperative');
    const controller = new AbortController();
    const reason = new Error('caller left');
    const signal = await policy.execute(async (ctx) => {
      controller.abort(reason);
      return ctx.signal;
    }, controller.signal);
    expect(signal.reason).toBe(reason);
  });

  it('a fast call resolves, clears its timer and leaves its signal alone', async () => {
    const { timers, policy } = setup(1000);
    let seen: AbortSignal | undefined;
    await expect(
      policy.execute(async ({ signal }) => {
        seen = signal;
        return 7;
      }),
    ).resolves.toBe(7);
    expect(timers.size).toBe(0);
    await timers.advance(5000);
    expect(seen?.aborted).toBe(false);
  });

  it('a failing call rejects with its own error before the deadline', async () => {
    const { timers, policy } = setup(1000);
    const boom = new Error('boom');
    await expect(policy.execute(() => Promise.reject(boom))).rejects.toBe(boom);
    await expect(
      policy.execute(() => {
        throw boom; // synchronous throw
      }),
    ).rejects.toBe(boom);
    expect(timers.size).toBe(0);
  });

  it.each(['aggressive', 'cooperative'] as const)('%s: the caller’s abort reaches the call with the caller’s reason', async (mode) => {
    const { timers, policy } = setup(1000, mode);
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const outcome = policy
      .execute((ctx) => {
        seen = ctx.signal;
        return cooperativeHang(ctx);
      }, controller.signal)
      .catch((e: unknown) => e);
    const reason = new Error('caller left');
    controller.abort(reason);
    expect(await outcome).toBe(reason);
    expect(seen?.reason).toBe(reason);
    expect(timers.size).toBe(0);
  });

  it('an already aborted caller signal runs nothing', async () => {
    const { policy } = setup(1000);
    let ran = false;
    await expect(
      policy.execute(() => {
        ran = true;
      }, AbortSignal.abort(new Error('gone'))),
    ).rejects.toThrow('gone');
    expect(ran).toBe(false);
  });

  it.each([0, -1, Infinity, Number.NaN])('rejects %s ms', (ms) => {
    expect(() => timeout(ms)).toThrow(RangeError);
  });
});

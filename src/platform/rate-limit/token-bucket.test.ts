import { describe, expect, it } from 'vitest';
import { FakeClock } from '../clock.js';
import { MemoryTokenBucket } from './token-bucket.js';

function make(capacity = 100, refillPerSecond = 10, maxKeys = 1000) {
  const clock = new FakeClock();
  return { clock, limiter: new MemoryTokenBucket({ capacity, refillPerSecond, clock, maxKeys }) };
}

async function burst(limiter: MemoryTokenBucket, key: string, n: number): Promise<number> {
  let allowed = 0;
  for (let i = 0; i < n; i++) if ((await limiter.consume(key)).allowed) allowed++;
  return allowed;
}

describe('MemoryTokenBucket', () => {
  it('the chapter example: 100 at once, the 101st waits 100 ms, 10 more after 1 s', async () => {
    const { clock, limiter } = make(100, 10);
    expect(await burst(limiter, 'ip', 100)).toBe(100);
    const refused = await limiter.consume('ip');
    expect(refused).toEqual({ allowed: false, limit: 100, remaining: 0, retryAfterMs: 100, resetMs: 10_000 });
    clock.advance(1000);
    expect(await burst(limiter, 'ip', 11)).toBe(10);
  });

  it('reports remaining and resetMs after each allowed request', async () => {
    const { limiter } = make(5, 1);
    const first = await limiter.consume('k');
    expect(first).toEqual({ allowed: true, limit: 5, remaining: 4, retryAfterMs: 0, resetMs: 1000 });
    const second = await limiter.consume('k', 3);
    expect(second).toMatchObject({ allowed: true, remaining: 1, resetMs: 4000 });
  });

  it('retryAfterMs is exact: one ms earlier is refused, at it allowed', async () => {
    const { clock, limiter } = make(3, 3); // one token per 333.33 ms
    expect(await burst(limiter, 'k', 3)).toBe(3);
    const refused = await limiter.consume('k');
    expect(refused.retryAfterMs).toBe(334);
    clock.advance(333);
    expect((await limiter.consume('k')).allowed).toBe(false);
    clock.advance(1);
    expect((await limiter.consume('k')).allowed).toBe(true);
  });

  it('retryAfterMs accounts for the cost and for partial refill', async () => {
    const { clock, limiter } = make(10, 2); // 500 ms per token
    await limiter.consume('k', 10);
    clock.advance(250); // half a token back
    const refused = await limiter.consume('k', 2);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 750 });
    clock.advance(749);
    expect((await limiter.consume('k', 2)).allowed).toBe(false);
    clock.advance(1);
    expect(await limiter.consume('k', 2)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('a refused request takes no tokens', async () => {
    const { clock, limiter } = make(2, 1);
    await limiter.consume('k', 2);
    for (let i = 0; i < 5; i++) await limiter.consume('k');
    clock.advance(1000);
    expect((await limiter.consume('k')).allowed).toBe(true);
  });

  it('refills continuously and never above capacity', async () => {
    const { clock, limiter } = make(10, 10);
    await limiter.consume('k', 10);
    clock.advance(350);
    expect(await burst(limiter, 'k', 10)).toBe(3);
    clock.advance(60_000);
    expect(await burst(limiter, 'k', 20)).toBe(10);
  });

  it('keys are independent', async () => {
    const { limiter } = make(2, 1);
    expect(await burst(limiter, 'a', 3)).toBe(2);
    expect(await burst(limiter, 'b', 3)).toBe(2);
  });

  it('a cost above capacity is refused with a finite retry: the time to fill', async () => {
    const { clock, limiter } = make(10, 5);
    await limiter.consume('k', 4);
    const d = await limiter.consume('k', 11);
    expect(d).toMatchObject({ allowed: false, remaining: 6, retryAfterMs: 800, resetMs: 800 });
    clock.advance(10_000);
    const full = await limiter.consume('k', 11);
    expect(full).toMatchObject({ allowed: false, remaining: 10, resetMs: 0, retryAfterMs: 1 });
  });

  it('forgets least recently used keys beyond maxKeys; a forgotten key starts full', async () => {
    const { limiter } = make(1, 1, 2);
    await limiter.consume('a');
    await limiter.consume('b');
    expect((await limiter.consume('a')).allowed).toBe(false); // a is still tracked
    await limiter.consume('c'); // evicts b (least recently used)
    expect((await limiter.consume('b')).allowed).toBe(true);
  });

  it('a clock stepping back neither refills nor breaks the bucket', async () => {
    const { clock, limiter } = make(1, 1);
    await limiter.consume('k');
    clock.advance(-5000);
    expect((await limiter.consume('k')).allowed).toBe(false);
    clock.advance(5000 + 1000);
    expect((await limiter.consume('k')).allowed).toBe(true);
  });

  it('rejects bad options and costs', async () => {
    const clock = new FakeClock();
    expect(() => new MemoryTokenBucket({ capacity: 0, refillPerSecond: 1, clock, maxKeys: 1 })).toThrow(RangeError);
    expect(() => new MemoryTokenBucket({ capacity: 1, refillPerSecond: 0, clock, maxKeys: 1 })).toThrow(RangeError);
    expect(() => new MemoryTokenBucket({ capacity: 1, refillPerSecond: 1, clock, maxKeys: 0 })).toThrow(RangeError);
    const { limiter } = make();
    await expect(limiter.consume('k', -1)).rejects.toThrow(RangeError);
    await expect(limiter.consume('k', Number.NaN)).rejects.toThrow(RangeError);
  });
});

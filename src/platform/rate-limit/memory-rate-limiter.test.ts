import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../clock.js';
import { fakeLimiter } from './memory/test-support.js';
import { MemoryRateLimiter } from './memory-rate-limiter.js';
import { RATE_LIMIT_ALGORITHMS, type RateLimitAlgorithm, type RateLimitRule } from './types.js';

/** Random schedules: gaps in ms (often 0, so bursts happen) and costs of 1–3. */
const schedule = fc.array(fc.record({ gap: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 400 })), cost: fc.integer({ min: 1, max: 3 }) }), {
  minLength: 1,
  maxLength: 120,
});

function run(rule: RateLimitRule, steps: { gap: number; cost: number }[]) {
  const { limiter, at } = fakeLimiter(rule);
  let t = 0;
  return steps.map(({ gap, cost }) => {
    t += gap;
    at(t);
    return { t, cost, decision: limiter.take('k', cost) };
  });
}

/** Most units admitted in any interval [s, s + length) of the run. */
function mostIn(length: number, runs: ReturnType<typeof run>): number {
  const admitted = runs.filter((r) => r.decision.allowed);
  let most = 0;
  for (const start of admitted) {
    const sum = admitted.filter((r) => r.t >= start.t && r.t < start.t + length).reduce((s, r) => s + r.cost, 0);
    most = Math.max(most, sum);
  }
  return most;
}

describe('MemoryRateLimiter', () => {
  it.each(['sliding-log', 'sliding-counter'] as const)('%s never admits more than the limit in any interval of length W', (algorithm) => {
    fc.assert(
      fc.property(schedule, (steps) => {
        const rule = { algorithm, limit: 5, windowMs: 1000 };
        expect(mostIn(1000, run(rule, steps))).toBeLessThanOrEqual(5);
      }),
      { numRuns: 300 },
    );
  });

  it.each(['token-bucket', 'gcra'] as const)('%s admits at most limit + rate × d in any interval of length d', (algorithm) => {
    fc.assert(
      fc.property(schedule, fc.integer({ min: 1, max: 3000 }), (steps, d) => {
        const runs = run({ algorithm, limit: 5, windowMs: 1000 }, steps);
        expect(mostIn(d, runs)).toBeLessThanOrEqual(5 + Math.ceil((5 * d) / 1000));
      }),
      { numRuns: 300 },
    );
  });

  it('fixed window admits at most the limit per calendar window', () => {
    fc.assert(
      fc.property(schedule, (steps) => {
        const perWindow = new Map<number, number>();
        for (const r of run({ algorithm: 'fixed-window', limit: 5, windowMs: 1000 }, steps)) {
          if (r.decision.allowed) perWindow.set(Math.floor(r.t / 1000), (perWindow.get(Math.floor(r.t / 1000)) ?? 0) + r.cost);
        }
        for (const n of perWindow.values()) expect(n).toBeLessThanOrEqual(5);
      }),
      { numRuns: 200 },
    );
  });

  it('the sliding log admits exactly what a brute-force reference admits', () => {
    fc.assert(
      fc.property(schedule, (steps) => {
        const log: number[] = [];
        for (const r of run({ algorithm: 'sliding-log', limit: 5, windowMs: 1000 }, steps)) {
          const inWindow = log.filter((t) => t > r.t - 1000).length;
          const expected = inWindow + r.cost <= 5;
          expect(r.decision.allowed).toBe(expected);
          if (expected) for (let i = 0; i < r.cost; i++) log.push(r.t);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('token bucket and GCRA admit the same requests', () => {
    fc.assert(
      fc.property(schedule, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 100, max: 5000 }), (steps, limit, windowMs) => {
        const a = run({ algorithm: 'token-bucket', limit, windowMs }, steps).map((r) => r.decision.allowed);
        const b = run({ algorithm: 'gcra', limit, windowMs }, steps).map((r) => r.decision.allowed);
        expect(b).toEqual(a);
      }),
      { numRuns: 200 },
    );
  });

  it.each(RATE_LIMIT_ALGORITHMS)('%s: a refused request passes at exactly retryAfterMs, not 1 ms before', (algorithm) => {
    fc.assert(
      fc.property(schedule, fc.integer({ min: 1, max: 4 }), (steps, cost) => {
        const rule = { algorithm, limit: 4, windowMs: 900 };
        const runs = run(rule, steps);
        const end = runs.at(-1)?.t ?? 0;
        const probe = () => {
          const replay = fakeLimiter(rule);
          let t = 0;
          for (const s of steps) {
            t += s.gap;
            replay.at(t);
            replay.limiter.take('k', s.cost);
          }
          return replay;
        };
        const first = probe();
        const d = first.limiter.take('k', cost);
        if (d.allowed) return;
        expect(d.retryAfterMs).toBeGreaterThanOrEqual(1);
        first.at(end + d.retryAfterMs);
        expect(first.limiter.take('k', cost).allowed).toBe(true);
        if (d.retryAfterMs > 1) {
          const early = probe();
          early.at(end + d.retryAfterMs - 1);
          expect(early.limiter.take('k', cost).allowed).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });

  it.each(RATE_LIMIT_ALGORITHMS)('%s: after resetMs without requests the whole limit is available', (algorithm) => {
    fc.assert(
      fc.property(schedule, (steps) => {
        const rule = { algorithm, limit: 4, windowMs: 900 };
        const { limiter, at } = fakeLimiter(rule);
        let t = 0;
        let last = limiter.take('k', 0);
        for (const s of steps) {
          t += s.gap;
          at(t);
          last = limiter.take('k', s.cost);
        }
        at(t + last.resetMs);
        expect(limiter.take('k', 4).allowed).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it.each(RATE_LIMIT_ALGORITHMS)('%s: keys are independent; cost 0 asks without taking', (algorithm: RateLimitAlgorithm) => {
    const { limiter } = fakeLimiter({ algorithm, limit: 2, windowMs: 1000 });
    expect(limiter.take('a', 0)).toMatchObject({ allowed: true, remaining: 2, resetMs: 0 });
    limiter.take('a', 2);
    expect(limiter.take('a', 0)).toMatchObject({ allowed: true, remaining: 0 });
    expect(limiter.take('a')).toMatchObject({ allowed: false });
    expect(limiter.take('b')).toMatchObject({ allowed: true, remaining: 1 });
  });

  it('forgets the least recently used key beyond maxKeys; a forgotten key starts afresh', () => {
    const { limiter } = fakeLimiter({ algorithm: 'gcra', limit: 1, windowMs: 1000 }, 2);
    limiter.take('a');
    limiter.take('b');
    expect(limiter.take('a').allowed).toBe(false); // a is still tracked, and now the most recent
    limiter.take('c'); // evicts b
    expect(limiter.size).toBe(2);
    expect(limiter.take('b').allowed).toBe(true);
  });

  it('consume() is take() behind a promise, and rejects a bad cost', async () => {
    const { limiter } = fakeLimiter({ algorithm: 'token-bucket', limit: 1, windowMs: 1000 });
    expect(await limiter.consume('k')).toMatchObject({ allowed: true });
    expect(await limiter.consume('k')).toMatchObject({ allowed: false });
    for (const cost of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(limiter.consume('k', cost)).rejects.toThrow(RangeError);
    }
  });

  it.each([
    [{ algorithm: 'token-bucket', limit: 0, windowMs: 1000 }, 'limit'],
    [{ algorithm: 'token-bucket', limit: 1.5, windowMs: 1000 }, 'limit'],
    [{ algorithm: 'gcra', limit: 1, windowMs: 0 }, 'windowMs'],
    [{ algorithm: 'gcra', limit: 1, windowMs: Number.NaN }, 'windowMs'],
    [{ algorithm: 'sliding-counter', limit: 1, windowMs: 1000, subWindows: 0 }, 'subWindows'],
    [{ algorithm: 'leaky', limit: 1, windowMs: 1000 }, 'algorithm'],
  ] as [RateLimitRule, string][])('rejects the rule %j (%s)', (rule, field) => {
    expect(() => new MemoryRateLimiter(rule, { clock: new FakeClock(), maxKeys: 1 })).toThrow(new RegExp(field));
  });

  it('rejects maxKeys < 1', () => {
    expect(() => new MemoryRateLimiter({ algorithm: 'gcra', limit: 1, windowMs: 1 }, { clock: new FakeClock(), maxKeys: 0 })).toThrow(RangeError);
  });
});

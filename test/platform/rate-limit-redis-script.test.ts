import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/platform/clock.js';
import { MemoryRateLimiter } from '../../src/platform/rate-limit/memory-rate-limiter.js';
import { RedisRateLimiter, SCRIPTS, type RedisScriptClient } from '../../src/platform/rate-limit/redis-rate-limiter.js';
import { RATE_LIMIT_ALGORITHMS, type RateLimitRule } from '../../src/platform/rate-limit/types.js';
import { describeWithRedis, useRedis } from '../helpers/redis.js';

/** Counts the commands the limiter sends; can turn the next EVALSHA into a genuine NOSCRIPT. */
function countingClient(redis: Redis) {
  const sent: string[] = [];
  let unknownShaOnce = false;
  const client: RedisScriptClient = {
    evalsha(sha, numKeys, ...args) {
      sent.push('evalsha');
      const useSha = unknownShaOnce ? '0'.repeat(40) : sha;
      unknownShaOnce = false;
      return redis.evalsha(useSha, numKeys, ...args);
    },
    script(subcommand, source) {
      sent.push('script load');
      return redis.script(subcommand, source);
    },
  };
  return { client, sent, forgetScriptOnce: () => (unknownShaOnce = true) };
}

/** Same sequence of (cost) against Redis and against memory on a clock that does not move. */
const SEQUENCE = [1, 2, 1, 1, 3, 0, 6, 1];

describeWithRedis('RedisRateLimiter scripts', (url) => {
  const { redis, prefix } = useRedis(url);

  describe.each(RATE_LIMIT_ALGORITHMS)('%s', (algorithm) => {
    // A long window: the few ms the test takes move nothing but resetMs/retryAfterMs a little.
    const rule: RateLimitRule = { algorithm, limit: 5, windowMs: 600_000 };

    it('decides like the in-process algorithm of the same name', async () => {
      const shared = new RedisRateLimiter(rule, { client: redis(), prefix: `${prefix}${algorithm}:same:` });
      // Both on the current time (calendar edges and sub-windows line up), not near an edge.
      const untilEdge = rule.windowMs - (Date.now() % rule.windowMs);
      if (untilEdge < 2000) await new Promise((resolve) => setTimeout(resolve, untilEdge + 10));
      const clock = new FakeClock(Date.now());
      const local = new MemoryRateLimiter(rule, { clock, maxKeys: 10 });
      const started = clock.now(); // the memory side's "now" (a loaded machine may pause us here)
      for (const cost of SEQUENCE) {
        const expected = local.take('k', cost);
        const got = await shared.consume('k', cost);
        const row = `cost ${cost}`;
        expect({ row, allowed: got.allowed, remaining: got.remaining, limit: got.limit }).toEqual({
          row,
          allowed: expected.allowed,
          remaining: expected.remaining,
          limit: 5,
        });
        const slack = Date.now() - started + 2;
        expect(Math.abs(got.resetMs - expected.resetMs), row).toBeLessThanOrEqual(slack);
        expect(Math.abs(got.retryAfterMs - expected.retryAfterMs), row).toBeLessThanOrEqual(slack);
      }
    });

    it('sets a TTL on every key it writes, under the configured prefix', async () => {
      const keyPrefix = `${prefix}${algorithm}:ttl:`;
      const shared = new RedisRateLimiter(rule, { client: redis(), prefix: keyPrefix });
      await shared.consume('a');
      await shared.consume('b', 5);
      await shared.consume('b');
      const keys = (await redis().keys(`${keyPrefix}*`)).sort();
      expect(keys).toEqual([`${keyPrefix}a`, `${keyPrefix}b`]);
      for (const key of keys) {
        const ttl = await redis().pttl(key);
        expect(ttl, key).toBeGreaterThan(0);
        expect(ttl, key).toBeLessThanOrEqual(rule.windowMs * 1.1 + 1);
      }
    });

    it('a refused request is retried by Redis time: allowed at retryAfterMs', async () => {
      const short: RateLimitRule = { algorithm, limit: 2, windowMs: 300 };
      const shared = new RedisRateLimiter(short, { client: redis(), prefix: `${prefix}${algorithm}:retry:` });
      // Take until refused (a slow machine may let a token or a window edge slip in between).
      let refused = await shared.consume('k', 2);
      for (let i = 0; i < 10 && refused.allowed; i++) refused = await shared.consume('k');
      expect(refused.allowed).toBe(false);
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(331); // sliding counter: up to one sub-window later
      await new Promise((resolve) => setTimeout(resolve, refused.retryAfterMs + 2));
      expect(await shared.consume('k')).toMatchObject({ allowed: true });
    });

    it('is one EVALSHA per check; a missing script costs one SCRIPT LOAD and a retry', async () => {
      const { client, sent, forgetScriptOnce } = countingClient(redis());
      const shared = new RedisRateLimiter(rule, { client, prefix: `${prefix}${algorithm}:rtt:` });
      forgetScriptOnce(); // Redis answers a genuine NOSCRIPT, as after a restart or SCRIPT FLUSH
      expect(await shared.consume('k')).toMatchObject({ allowed: true, remaining: 4 });
      expect(sent).toEqual(['evalsha', 'script load', 'evalsha']);
      sent.length = 0;
      for (let i = 0; i < 10; i++) await shared.consume('k');
      expect(sent).toEqual(Array(10).fill('evalsha'));
    });
  });

  it('concurrent first calls share one SCRIPT LOAD', async () => {
    const { client, sent, forgetScriptOnce } = countingClient(redis());
    const shared = new RedisRateLimiter({ algorithm: 'gcra', limit: 100, windowMs: 1000 }, { client, prefix: `${prefix}load:` });
    forgetScriptOnce();
    let loads = 0;
    const load = shared.load.bind(shared);
    shared.load = () => {
      loads++;
      return load();
    };
    // Only the first EVALSHA fails; those in flight beside it succeed or share the load.
    await Promise.all(Array.from({ length: 20 }, () => shared.consume('k')));
    expect(sent.filter((c) => c === 'script load')).toHaveLength(1);
    expect(loads).toBe(1);
  });

  it('sliding-log members are unique: concurrent limiters on one key keep every unit', async () => {
    const rule: RateLimitRule = { algorithm: 'sliding-log', limit: 1000, windowMs: 60_000 };
    const limiters = Array.from({ length: 4 }, () => new RedisRateLimiter(rule, { client: redis(), prefix: `${prefix}members:` }));
    const decisions = await Promise.all(Array.from({ length: 400 }, (_, i) => limiters[i % 4]!.consume('k', 2)));
    expect(decisions.every((d) => d.allowed)).toBe(true);
    expect(await redis().zcard(`${prefix}members:k`)).toBe(800);
  });

  it('the sliding-counter hash keeps at most K + 2 fields', async () => {
    const rule: RateLimitRule = { algorithm: 'sliding-counter', limit: 1000, windowMs: 100, subWindows: 4 };
    const shared = new RedisRateLimiter(rule, { client: redis(), prefix: `${prefix}fields:` });
    const until = Date.now() + 400;
    let most = 0;
    while (Date.now() < until) {
      await shared.consume('k');
      most = Math.max(most, await redis().hlen(`${prefix}fields:k`));
    }
    expect(most).toBeGreaterThanOrEqual(4);
    expect(most).toBeLessThanOrEqual(6);
  });

  it('a reply that is not a decision is an error, not a silent allow', async () => {
    const client: RedisScriptClient = { evalsha: async () => 'OK', script: async () => 'sha' };
    const shared = new RedisRateLimiter({ algorithm: 'gcra', limit: 1, windowMs: 1 }, { client, prefix });
    await expect(shared.consume('k')).rejects.toThrow(/returned "OK"/);
  });

  it('every algorithm has its own script', () => {
    expect(new Set(Object.values(SCRIPTS)).size).toBe(RATE_LIMIT_ALGORITHMS.length);
  });
});

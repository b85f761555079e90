import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { describeWithRedis, useRedis } from '../helpers/redis.js';

describeWithRedis('HTTP rate limits shared through Redis', (url) => {
  const { redis, prefix } = useRedis(url);

  describe.each(['token-bucket', 'sliding-log'] as const)('RATE_LIMIT_ALGORITHM=%s', (algorithm) => {
    const apps: TestApp[] = [];
    beforeAll(async () => {
      // Two api processes' worth of containers, each with its own database, one Redis.
      const env = {
        REDIS_URL: url,
        RATE_LIMIT_REDIS_PREFIX: prefix,
        RATE_LIMIT_ALGORITHM: algorithm,
        RATE_LIMIT_WRITE_BURST: '3',
        RATE_LIMIT_WRITE_PER_SECOND: '0.001',
      };
      apps.push(await makeTestApp(env), await makeTestApp(env));
    });
    afterAll(async () => {
      for (const t of apps) await t.close();
    });

    it('writes from one client IP are limited across both apps, with RateLimit-* and Retry-After', async () => {
      const ip = `10.9.${algorithm.length}.1`;
      const statuses: number[] = [];
      const remaining: (string | undefined)[] = [];
      for (let i = 0; i < 5; i++) {
        const t = apps[i % 2]!;
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/v1/shorten',
          remoteAddress: ip,
          headers: { authorization: `Bearer ${t.adminKey}` },
          payload: { url: `https://example.com/${algorithm}/${i}` },
        });
        statuses.push(res.statusCode);
        remaining.push(res.headers['ratelimit-remaining'] as string | undefined);
        if (res.statusCode === 429) {
          expect(res.json()).toMatchObject({ status: 'error', error: { code: 'RATE_LIMITED' } });
          expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
          expect(res.headers['ratelimit-limit']).toBe('3');
        }
      }
      expect(statuses).toEqual([201, 201, 201, 429, 429]);
      expect(remaining).toEqual(['2', '1', '0', '0', '0']);
      const keys = await redis().keys(`${prefix}${algorithm}:write_ip:*`);
      expect(keys).toEqual([`${prefix}${algorithm}:write_ip:ip:${ip}`]);
    });
  });
});

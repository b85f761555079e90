import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { RedisClickCounter } from '../../src/adapters/redis/redis-click-counter.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { describeWithRedis, uniquePrefix } from '../helpers/redis.js';
import { deleteKeys, FIREFOX } from '../contracts/redis-click-support.js';

/** The whole app with CLICK_COUNTER=redis (SQLite + real Redis): what the API shows, and when. */
describeWithRedis('CLICK_COUNTER=redis in the app', (url) => {
  const prefix = uniquePrefix();
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  const app = () =>
    makeTestApp({
      REDIS_URL: url,
      CLICK_COUNTER: 'redis',
      CLICK_REDIS_PREFIX: `${prefix}clicks:`,
      CACHE_REDIS_PREFIX: `${prefix}cache:`,
      RATE_LIMIT_REDIS_PREFIX: `${prefix}rl:`,
      CLICK_FLUSH_INTERVAL_MS: '100',
    });

  const clickCount = async (t: TestApp, key: string) =>
    ((await t.call('GET', `/api/v1/links/${key}`, { key: t.adminKey })).json() as { data: { click_count: number } }).data.click_count;

  it('redirects reach click_count and stats within about one flush interval; max_clicks stays exact', async () => {
    const t = await app();
    try {
      const made = await t.call('POST', '/api/v1/links', { key: t.adminKey, body: { url: 'https://example.com/a', alias: 'rc-app' } });
      expect(made.statusCode).toBe(201);
      const limited = await t.call('POST', '/api/v1/links', { key: t.adminKey, body: { url: 'https://example.com/b', alias: 'rc-lim', max_clicks: 3 } });
      expect(limited.statusCode).toBe(201);
      for (let i = 0; i < 12; i++) {
        const r = await t.call('GET', '/rc-app', { headers: { 'user-agent': FIREFOX, ...(i % 2 ? { referer: 'https://ref.example/' } : {}) } });
        expect(r.statusCode).toBe(301); // REDIRECT_STATUS's default
      }
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await t.call('GET', '/rc-lim')).statusCode);
      expect(statuses).toEqual([301, 301, 301, 410, 410]); // the limit is the database's, never lagging

      // The clicks are in Redis, not in the database yet; they arrive with the flushes.
      const started = Date.now();
      let count = await clickCount(t, 'rc-app');
      while (count < 12 && Date.now() - started < 5000) {
        await sleep(20);
        count = await clickCount(t, 'rc-app');
      }
      expect(count).toBe(12);
      const stats = (await t.call('GET', '/api/v1/links/rc-app/stats', { key: t.adminKey })).json() as {
        data: { total: number; referrers: { host: string; clicks: number }[] };
      };
      expect(stats.data.total).toBe(12);
      expect(stats.data.referrers).toContainEqual({ host: 'ref.example', clicks: 6 });
      expect(await clickCount(t, 'rc-lim')).toBe(3);
      const limStats = (await t.call('GET', '/api/v1/links/rc-lim/stats', { key: t.adminKey })).json() as { data: { total: number } };
      for (let i = 0; i < 100 && limStats.data.total < 3; i++) {
        await sleep(20);
        Object.assign(limStats, (await t.call('GET', '/api/v1/links/rc-lim/stats', { key: t.adminKey })).json());
      }
      expect(limStats.data.total).toBe(3);
      const metrics = (await t.call('GET', '/metrics')).body;
      expect(metrics).toMatch(/^tny_click_redis_failures 0$/m);
      // Every click went through Redis (15 counted redirects), none through the local fallback.
      expect(t.container.shortener.recorder).toBeInstanceOf(RedisClickCounter);
      expect((t.container.shortener.recorder as RedisClickCounter).bufferStats()).toMatchObject({ sentClicks: 15, fallbackClicks: 0 });
    } finally {
      await t.close();
    }
  });

  it('refuses to start with CLICK_COUNTER=redis and no REDIS_URL, naming both', async () => {
    await expect(makeTestApp({ CLICK_COUNTER: 'redis' })).rejects.toThrow(/CLICK_COUNTER=redis needs REDIS_URL/);
  });
});

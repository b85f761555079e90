import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, it } from 'vitest';

/**
 * Registers `body` when REDIS_URL_TEST is set (CI: the local Redis). Without it the suite is
 * left out with a printed notice, or, under TNY_REQUIRE_SERVICES=1 (CI), replaced by a failing
 * test — a Redis suite can never silently skip.
 */
export function describeWithRedis(title: string, body: (url: string) => void): void {
  const url = process.env.REDIS_URL_TEST;
  if (url) {
    describe(`${title} [redis]`, () => body(url));
  } else if (process.env.TNY_REQUIRE_SERVICES === '1') {
    describe(`${title} [redis]`, () => {
      it('has a Redis to run against', () => {
        throw new Error('REDIS_URL_TEST is not set but TNY_REQUIRE_SERVICES=1 requires the Redis suites');
      });
    });
  } else {
    console.warn(`[tny] REDIS_URL_TEST not set: Redis suite "${title}" not run`);
  }
}

/** A key prefix no other test (file, process, run) uses: `tnytest:<random>:`. */
export function uniquePrefix(): string {
  return `tnytest:${randomBytes(6).toString('hex')}:`;
}

/**
 * A connection for the current describe block, closed after it; every key the tests made under
 * the returned prefix is deleted at the end.
 */
export function useRedis(url: string): { redis: () => Redis; prefix: string } {
  const prefix = uniquePrefix();
  let client: Redis | undefined;
  afterAll(async () => {
    if (!client) return;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    client.disconnect();
  });
  return {
    redis: () => (client ??= new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false })),
    prefix,
  };
}

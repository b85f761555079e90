import { Redis } from 'ioredis';

export interface RedisHandle {
  redis: Redis;
  close(): Promise<void>;
}

/**
 * Connects to Redis and checks it answers, so a bad REDIS_URL fails at start naming it rather
 * than at the first request. Commands fail fast while disconnected (no offline queue): callers
 * decide what an unreachable Redis means (fail open, closed, or fall back).
 */
export async function openRedis(url: string, options: { connectTimeoutMs?: number } = {}): Promise<RedisHandle> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? 5000,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
  });
  // Errors while reconnecting are reported by the commands that fail; without a listener
  // ioredis would print each one.
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`REDIS_URL: cannot reach Redis (${reason})`, { cause: err });
  }
  return {
    redis,
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

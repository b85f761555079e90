import { checkTtl, type Cache } from './cache.js';
import type { RedisCommands } from './redis-client.js';

/**
 * The shared tier (L2): one Redis string per entry under `prefix + key`, the value as JSON,
 * always with an expiry (SET … PX), so a key can never outlive its TTL or pile up forever.
 *
 * Values must survive JSON: plain objects, arrays, strings, finite numbers, booleans and null
 * (`undefined` is not a value: it means "absent"). An entry that fails to parse (written by an
 * incompatible version) reads as absent.
 */
export class RedisCache<V> implements Cache<V> {
  constructor(
    private readonly redis: RedisCommands,
    readonly prefix: string,
  ) {}

  /** The Redis key of a cache key. */
  keyOf(key: string): string {
    return this.prefix + key;
  }

  async get(key: string): Promise<V | undefined> {
    return decode<V>(await this.redis.get(this.keyOf(key)));
  }

  async set(key: string, value: V, ttlMs: number): Promise<void> {
    checkTtl(ttlMs);
    await this.redis.set(this.keyOf(key), encode(value), 'PX', Math.ceil(ttlMs));
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(this.keyOf(key));
  }
}

export function encode(value: unknown): string {
  if (value === undefined) throw new TypeError('undefined cannot be cached (it means "absent")');
  return JSON.stringify(value);
}

export function decode<V>(raw: string | null | undefined): V | undefined {
  if (raw === null || raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as V;
  } catch {
    return undefined;
  }
}

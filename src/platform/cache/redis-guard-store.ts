import type { Stamped } from './cache.js';
import type { GuardStore, Probe } from './guard-store.js';
import { newLeaseToken } from './lease.js';
import { RedisLease } from './redis-lease.js';
import { decode, encode } from './redis-cache.js';
import { RedisScript, type RedisCommands } from './redis-client.js';

/** The entry, else SET NX PX the lease, else busy — in one step. */
const PROBE = new RedisScript(`
local v = redis.call('GET', KEYS[1])
if v then return {1, v} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2} end
return {0}`);

/** Store only while our token holds the lease, then free it. */
const COMMIT = new RedisScript(`
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[2])
return 1`);

/**
 * The guard's shared tier in Redis: entry `<prefix>v:<key>` (JSON of Stamped<V>, always with
 * PX) and its lease `<prefix>l:<key>` (a unique token, SET NX PX, compare-and-delete). Every
 * step is one Lua script, so processes cannot interleave inside it.
 */
export class RedisGuardStore<V> implements GuardStore<V> {
  private readonly lease: RedisLease;

  constructor(
    private readonly redis: RedisCommands,
    readonly prefix: string,
  ) {
    this.lease = new RedisLease(redis, `${prefix}l:`);
  }

  entryKey(key: string): string {
    return `${this.prefix}v:${key}`;
  }

  leaseKey(key: string): string {
    return this.lease.keyOf(key);
  }

  /** Every Redis key that holds state for `key` (an invalidation deletes them all). */
  redisKeys(key: string): string[] {
    return [this.entryKey(key), this.leaseKey(key)];
  }

  async probe(key: string, leaseTtlMs: number): Promise<Probe<V>> {
    const token = newLeaseToken();
    const r = (await PROBE.run(this.redis, this.redisKeys(key), [token, ms(leaseTtlMs)])) as [number, string?];
    if (r[0] === 1) {
      const entry = decode<Stamped<V>>(r[1]);
      // Unreadable (another version wrote it): treat as a miss the caller will overwrite.
      if (entry !== undefined) return { kind: 'hit', entry };
      const ours = await this.acquire(key, leaseTtlMs);
      return ours === null ? { kind: 'busy' } : { kind: 'leased', token: ours };
    }
    return r[0] === 2 ? { kind: 'leased', token } : { kind: 'busy' };
  }

  acquire(key: string, leaseTtlMs: number): Promise<string | null> {
    return this.lease.acquire(key, leaseTtlMs);
  }

  async commit(key: string, token: string, entry: Stamped<V>, ttlMs: number): Promise<boolean> {
    return (await COMMIT.run(this.redis, this.redisKeys(key), [token, encode(entry), ms(ttlMs)])) === 1;
  }

  async release(key: string, token: string): Promise<void> {
    await this.lease.release(key, token);
  }

  async invalidate(key: string): Promise<void> {
    await this.redis.del(...this.redisKeys(key));
  }
}

function ms(value: number): number {
  return Math.max(1, Math.ceil(value));
}

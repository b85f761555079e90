import { newLeaseToken, type Lease } from './lease.js';
import { RedisScript, type RedisCommands } from './redis-client.js';

/** Compare-and-delete: only the token that holds the lease frees it. */
const RELEASE = new RedisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`);

/** SET NX PX in a script, so the client port needs no SET overloads. */
const ACQUIRE = new RedisScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0`);

/**
 * The lease across processes: `SET lease-key token NX PX ttl`, released by compare-and-delete
 * (both atomic on the server). Expiry is Redis's clock, so clocks of the processes do not
 * matter. A crashed holder blocks the name for at most `ttlMs`.
 */
export class RedisLease implements Lease {
  constructor(
    private readonly redis: RedisCommands,
    readonly prefix: string,
  ) {}

  /** The Redis key holding the lease of `name`. */
  keyOf(name: string): string {
    return this.prefix + name;
  }

  async acquire(name: string, ttlMs: number): Promise<string | null> {
    const token = newLeaseToken();
    const won = await ACQUIRE.run(this.redis, [this.keyOf(name)], [token, Math.max(1, Math.ceil(ttlMs))]);
    return won === 1 ? token : null;
  }

  async release(name: string, token: string): Promise<boolean> {
    return (await RELEASE.run(this.redis, [this.keyOf(name)], [token])) === 1;
  }
}

import type { Clock } from '../clock.js';
import { FailoverRateLimiter, type RateLimitFailurePolicy } from './failover-rate-limiter.js';
import { MemoryRateLimiter } from './memory-rate-limiter.js';
import { RedisRateLimiter, type RedisScriptClient } from './redis-rate-limiter.js';
import type { StoreOutage } from './store-outage.js';
import type { RateLimiter, RateLimitRule } from './types.js';

export interface SharedStoreOptions {
  client: RedisScriptClient;
  /** Key prefix of this limiter, e.g. `tny:rl:token-bucket:write_ip:`. */
  prefix: string;
  policy: RateLimitFailurePolicy;
  /** One per Redis connection, shared by its limiters (one log line per outage). */
  outage: StoreOutage;
  timeoutMs: number;
  onFailure?: (policy: RateLimitFailurePolicy, error: unknown) => void;
}

export interface CreateRateLimiterOptions {
  clock: Clock;
  /** Keys kept by the in-process limiter (the store, or the `local` fallback). */
  maxKeys: number;
  /** When given, limits are shared through Redis with this failure policy. */
  shared?: SharedStoreOptions;
}

/** A limiter for `rule`: in-process, or in Redis behind its failure policy. */
export function createRateLimiter(rule: RateLimitRule, options: CreateRateLimiterOptions): RateLimiter {
  const local = new MemoryRateLimiter(rule, { clock: options.clock, maxKeys: options.maxKeys });
  const { shared } = options;
  if (!shared) return local;
  const redis = new RedisRateLimiter(rule, { client: shared.client, prefix: shared.prefix });
  return new FailoverRateLimiter(redis, {
    policy: shared.policy,
    local,
    limit: local.rule.limit,
    outage: shared.outage,
    timeoutMs: shared.timeoutMs,
    onFailure: shared.onFailure,
  });
}

import { createHash, randomBytes } from 'node:crypto';
import { FIXED_WINDOW_LUA } from './lua/fixed-window.lua.js';
import { GCRA_LUA } from './lua/gcra.lua.js';
import { SLIDING_COUNTER_LUA } from './lua/sliding-counter.lua.js';
import { SLIDING_LOG_LUA } from './lua/sliding-log.lua.js';
import { TOKEN_BUCKET_LUA } from './lua/token-bucket.lua.js';
import { checkCost, checkRule, type CheckedRule } from './rules.js';
import type { RateLimitAlgorithm, RateLimitDecision, RateLimiter, RateLimitRule } from './types.js';

/** The two commands the limiter sends; an ioredis client fits. */
export interface RedisScriptClient {
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  script(subcommand: 'LOAD', source: string): Promise<unknown>;
}

export interface RedisRateLimiterOptions {
  client: RedisScriptClient;
  /** Put before every key, e.g. `tny:rl:write_ip:`; keeps limiters and apps apart. */
  prefix: string;
}

export const SCRIPTS: Record<RateLimitAlgorithm, string> = {
  'fixed-window': FIXED_WINDOW_LUA,
  'sliding-log': SLIDING_LOG_LUA,
  'sliding-counter': SLIDING_COUNTER_LUA,
  'token-bucket': TOKEN_BUCKET_LUA,
  gcra: GCRA_LUA,
};

/**
 * The shared store (DESIGN.md defect 1): each check is ONE round trip running ONE Lua script
 * atomically, by SHA (EVALSHA). The script reads the time from Redis (TIME), so processes
 * with skewed clocks share one timeline; it sets a TTL on every key it writes; sorted-set
 * members carry a per-call nonce, so they are unique across processes.
 *
 * The script is loaded on first use: the first EVALSHA answers NOSCRIPT, one SCRIPT LOAD
 * (shared by all callers waiting at that moment) follows, and the call is retried. After a
 * Redis restart or SCRIPT FLUSH the same happens once. Errors other than NOSCRIPT reject;
 * what an unreachable Redis means is the caller's policy (FailoverRateLimiter).
 */
export class RedisRateLimiter implements RateLimiter {
  readonly rule: CheckedRule;
  private readonly source: string;
  private readonly sha: string;
  private loading: Promise<unknown> | undefined;
  /** Unique per limiter instance; with the counter it makes every sorted-set member unique. */
  private readonly nonce = randomBytes(8).toString('hex');
  private calls = 0;
  private readonly extra: () => string;

  constructor(rule: RateLimitRule, private readonly options: RedisRateLimiterOptions) {
    this.rule = checkRule(rule);
    this.source = SCRIPTS[this.rule.algorithm];
    this.sha = createHash('sha1').update(this.source).digest('hex');
    const { algorithm, subWindows } = this.rule;
    const k = String(subWindows);
    this.extra =
      algorithm === 'sliding-log' ? () => `${this.nonce}:${(this.calls++).toString(36)}` : algorithm === 'sliding-counter' ? () => k : () => '';
  }

  async consume(key: string, cost = 1): Promise<RateLimitDecision> {
    checkCost(cost);
    const { limit, windowMs } = this.rule;
    const args = [this.options.prefix + key, limit, windowMs, cost, this.extra()];
    let reply: unknown;
    try {
      reply = await this.options.client.evalsha(this.sha, 1, ...args);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      await this.load();
      reply = await this.options.client.evalsha(this.sha, 1, ...args);
    }
    return this.decision(reply);
  }

  /** Loads the script now (e.g. at start); concurrent calls share one SCRIPT LOAD. */
  load(): Promise<unknown> {
    this.loading ??= this.options.client.script('LOAD', this.source).finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private decision(reply: unknown): RateLimitDecision {
    if (!Array.isArray(reply) || reply.length !== 4 || !reply.every((n) => typeof n === 'number')) {
      throw new Error(`rate-limit script returned ${JSON.stringify(reply)}`);
    }
    const [allowed, remaining, resetMs, retryAfterMs] = reply as [number, number, number, number];
    return { allowed: allowed === 1, limit: this.rule.limit, remaining, resetMs, retryAfterMs };
  }
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

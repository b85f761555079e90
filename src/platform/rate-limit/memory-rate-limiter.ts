import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import type { MemoryAlgorithm } from './memory/algorithm.js';
import { fixedWindow } from './memory/fixed-window.js';
import { gcra } from './memory/gcra.js';
import { slidingCounter } from './memory/sliding-counter.js';
import { slidingLog } from './memory/sliding-log.js';
import { tokenBucket } from './memory/token-bucket.js';
import { checkCost, checkRule, type CheckedRule } from './rules.js';
import type { RateLimitDecision, RateLimiter, RateLimitRule } from './types.js';

export interface MemoryRateLimiterOptions {
  clock: Clock;
  /** Most keys tracked; the least recently used is forgotten (and starts with a full allowance). */
  maxKeys: number;
}

const ALGORITHMS: { [A in CheckedRule['algorithm']]: (rule: CheckedRule) => MemoryAlgorithm<object> } = {
  'fixed-window': fixedWindow,
  'sliding-log': slidingLog,
  'sliding-counter': slidingCounter,
  'token-bucket': tokenBucket,
  gcra,
};

/**
 * The in-process store: one state per key in an LRU of `maxKeys`, driven by the rule's
 * algorithm. The embedded default, and the `local` fallback when Redis is unreachable.
 *
 * Memory is bounded by maxKeys, not by time: an evicted key simply starts afresh, so a flood
 * of distinct keys can reset a limited one. Size maxKeys well above the keys active within
 * one window (the container uses 100,000).
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly rule: CheckedRule;
  private readonly algorithm: MemoryAlgorithm<object>;
  private readonly states: LRUCache<string, object>;

  constructor(rule: RateLimitRule, private readonly options: MemoryRateLimiterOptions) {
    const { maxKeys } = options;
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new RangeError(`maxKeys must be a positive integer, got ${maxKeys}`);
    this.rule = checkRule(rule);
    this.algorithm = ALGORITHMS[this.rule.algorithm](this.rule);
    this.states = new LRUCache<string, object>({ max: maxKeys });
  }

  async consume(key: string, cost = 1): Promise<RateLimitDecision> {
    return this.take(key, cost);
  }

  /** The synchronous core of consume(), for callers on a hot path. */
  take(key: string, cost = 1): RateLimitDecision {
    checkCost(cost);
    const now = this.options.clock.now();
    let state = this.states.get(key);
    if (state === undefined) {
      state = this.algorithm.create(now);
      this.states.set(key, state);
    }
    return this.algorithm.consume(state, now, cost);
  }

  /** Keys currently tracked. */
  get size(): number {
    return this.states.size;
  }
}

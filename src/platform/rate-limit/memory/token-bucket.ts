import type { CheckedRule } from '../rules.js';
import { allowed, ceilMs, refused, type MemoryAlgorithm } from './algorithm.js';

interface TokenBucketState {
  tokens: number;
  updatedAt: number;
}

/** Absorbs float error in the token count (fractional rates). */
const TOKEN_EPSILON = 1e-9;

/**
 * The chapter's token bucket: up to `limit` tokens, refilled continuously at limit / W per
 * millisecond; a request of `cost` is allowed iff that many tokens are there. A refused
 * request takes nothing. With the defaults (burst 100, 10/s) W is 10 s.
 */
export function tokenBucket(rule: CheckedRule): MemoryAlgorithm<TokenBucketState> {
  const { limit, windowMs } = rule;
  const perMs = limit / windowMs;
  const msUntil = (target: number, tokens: number) => ceilMs((target - tokens) / perMs);
  const remaining = (tokens: number) => Math.floor(tokens + TOKEN_EPSILON);

  return {
    create: (now) => ({ tokens: limit, updatedAt: now }),
    consume(state, now, cost) {
      // A clock that stepped back adds nothing and keeps updatedAt, so no time counts twice.
      if (now > state.updatedAt) {
        state.tokens = Math.min(limit, state.tokens + (now - state.updatedAt) * perMs);
        state.updatedAt = now;
      }
      if (cost <= limit && state.tokens + TOKEN_EPSILON >= cost) {
        state.tokens = Math.max(0, state.tokens - cost);
        return allowed(limit, remaining(state.tokens), msUntil(limit, state.tokens));
      }
      const resetMs = msUntil(limit, state.tokens);
      const retryAfterMs = cost > limit ? resetMs : msUntil(cost, state.tokens);
      return refused(limit, remaining(state.tokens), resetMs, retryAfterMs);
    },
  };
}

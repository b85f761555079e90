import { RATE_LIMIT_ALGORITHMS, type RateLimitAlgorithm, type RateLimitRule } from './types.js';

export const DEFAULT_SUB_WINDOWS = 10;

/** A rule with every default filled in and every number checked. */
export type CheckedRule = Required<RateLimitRule>;

/**
 * Checks a rule once, at construction, so the hot path does not: a limit of 0 or a NaN window
 * would otherwise turn into "always refused" or "never refused" silently.
 */
export function checkRule(rule: RateLimitRule): CheckedRule {
  const { algorithm, limit, windowMs } = rule;
  const subWindows = rule.subWindows ?? DEFAULT_SUB_WINDOWS;
  if (!RATE_LIMIT_ALGORITHMS.includes(algorithm)) throw new RangeError(`unknown rate-limit algorithm "${String(algorithm)}"`);
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  if (!(windowMs >= 1) || !Number.isFinite(windowMs)) throw new RangeError(`windowMs must be ≥ 1, got ${windowMs}`);
  if (!Number.isSafeInteger(subWindows) || subWindows < 1 || subWindows > 1000) {
    throw new RangeError(`subWindows must be an integer in 1..1000, got ${subWindows}`);
  }
  return { algorithm, limit, windowMs, subWindows };
}

/**
 * The rule for "a burst of `burst`, then `perSecond`": a window of burst / perSecond seconds.
 * For token-bucket that is exactly capacity = burst, refill = perSecond; the window algorithms
 * get the same long-run rate and the same largest burst.
 */
export function ruleFromRate(algorithm: RateLimitAlgorithm, burst: number, perSecond: number): RateLimitRule {
  if (!(perSecond > 0) || !Number.isFinite(perSecond)) throw new RangeError(`perSecond must be > 0, got ${perSecond}`);
  // Rounded to a microsecond: 5 per minute is 60000 ms, not 59999.999999999993.
  return { algorithm, limit: burst, windowMs: Math.round((burst / perSecond) * 1e6) / 1000 };
}

/** Costs are whole units (a sliding log stores one entry per unit); 0 asks without taking. */
export function checkCost(cost: number): void {
  if (!Number.isSafeInteger(cost) || cost < 0) throw new RangeError(`cost must be an integer ≥ 0, got ${cost}`);
}

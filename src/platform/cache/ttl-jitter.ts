/**
 * A TTL spread uniformly over [base·(1−spread), base·(1+spread)], so keys cached together do
 * not all expire together (cache avalanche, chapter §4). Whole milliseconds, never below 1.
 *
 * `spread` is a fraction in [0, 1]; `random` returns a number in [0, 1) (injectable for tests).
 */
export function jitteredTtl(baseMs: number, spread: number, random: () => number = Math.random): number {
  if (!Number.isFinite(baseMs) || baseMs < 0) throw new RangeError(`baseMs must be finite and ≥ 0, got ${baseMs}`);
  if (!(spread >= 0 && spread <= 1)) throw new RangeError(`spread must be in [0, 1], got ${spread}`);
  const low = baseMs * (1 - spread);
  const high = baseMs * (1 + spread);
  const r = Math.min(1, Math.max(0, random()));
  let ttl = Math.round(low + (high - low) * r);
  // Rounding must not leave the interval when it contains a whole number.
  const lowInt = Math.ceil(low);
  const highInt = Math.floor(high);
  if (lowInt <= highInt) ttl = Math.min(highInt, Math.max(lowInt, ttl));
  return Math.max(1, ttl);
}

/**
 * Probabilistic early refresh, "XFetch" (Vattani, Chierichetti, Lowenstein: Optimal
 * Probabilistic Cache Stampede Prevention, VLDB 2015). Each read of a fresh entry refreshes it
 * early when
 *
 *   now − delta · beta · ln(rand)  ≥  expiry        (rand uniform in (0, 1])
 *
 * where delta is how long the last recompute took. −ln(rand) is exponential with mean 1, so a
 * read decides to refresh with probability exp(−(expiry − now) / (delta · beta)): almost never
 * far from expiry, more often as expiry nears. A key read often is very likely refreshed by one
 * of its readers before it expires at all, while a key read rarely simply expires. Slow
 * recomputes (large delta) start earlier; beta > 1 favours earlier refreshes, beta = 0 turns
 * early refresh off.
 *
 * `rand` is injectable so tests can fix it; it must return a number in (0, 1] (0 is treated as
 * the smallest positive double).
 */
export function shouldRefreshEarly(
  now: number,
  expiresAt: number,
  deltaMs: number,
  beta: number,
  rand: () => number = uniformOpenZero,
): boolean {
  if (now >= expiresAt) return true;
  if (!(beta > 0) || !(deltaMs > 0)) return false;
  const r = rand();
  return now - deltaMs * beta * Math.log(r > 0 ? r : Number.MIN_VALUE) >= expiresAt;
}

/** Uniform in (0, 1]. */
export function uniformOpenZero(): number {
  return 1 - Math.random();
}

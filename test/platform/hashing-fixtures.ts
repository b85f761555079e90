/** Fixtures shared by the hashing tests: a fixed key set, reproducible in every run. */

import { seededKeys, seededRandom } from '../../bench/lib/keys.js';

export { seededRandom };

/** `count` distinct 7-character base62 keys, shaped like tny's short-link keys; the same in every run. */
export function fixedKeys(count = 100_000, seed = 20260101): string[] {
  return seededKeys(count, seed);
}

/** How many keys each node (or bucket) got. */
export function countBy<T>(items: readonly T[]): Map<T, number> {
  const counts = new Map<T, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

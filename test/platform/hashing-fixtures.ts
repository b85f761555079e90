/** Fixtures shared by the hashing tests: a fixed key set, reproducible in every run. */

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** mulberry32: a tiny seeded PRNG, so the "random" keys are the same in every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` distinct 7-character base62 keys, shaped like tny's short-link keys. */
export function fixedKeys(count = 100_000, seed = 20260101): string[] {
  const random = seededRandom(seed);
  const keys = new Set<string>();
  while (keys.size < count) {
    let key = '';
    for (let i = 0; i < 7; i++) key += ALPHABET[Math.floor(random() * 62)];
    keys.add(key);
  }
  return [...keys];
}

/** How many keys each node (or bucket) got. */
export function countBy<T>(items: readonly T[]): Map<T, number> {
  const counts = new Map<T, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

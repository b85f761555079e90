import { fmix32 } from '../hashing/murmur3.js';
/**
 * A Bloom filter (chapter §4, cache penetration): "definitely not present" or "maybe present",
 * so lookups of keys that were never created can be refused without touching the database.
 *
 * Sized from the expected number of items n and the false-positive rate p:
 *   m = −n·ln p / (ln 2)²  bits,   k = (m / n)·ln 2  hash functions (rounded).
 * For n = 1,000,000 and p = 0.01 that is m ≈ 9.59 M bits = 1.20 MB (1.14 MiB) and k = 7.
 *
 * The k bit positions come from two 32-bit hashes by double hashing (Kirsch–Mitzenmacher):
 * position_i = (h1 + i·h2) mod m, walked incrementally so a check allocates nothing. The bits
 * live in a Uint32Array.
 *
 * Nothing can be removed: clearing a deleted key's bits could clear bits other keys share.
 * A deleted key therefore stays "maybe present" (a false positive), and the negative cache and
 * the database answer for it. Adding beyond n raises the false-positive rate: `estimatedItems`
 * and `estimatedFalsePositiveRate` say when to rebuild bigger.
 */
export class BloomFilter {
  /** Bits in the filter (m). */
  readonly bits: number;
  /** Hash functions (k). */
  readonly hashes: number;
  /** The n the filter was sized for. */
  readonly capacity: number;
  private readonly words: Uint32Array;
  private setBits = 0;
  /** Bits expected to be set once `capacity` distinct items are in: m·(1 − e^(−k·n/m)). */
  private readonly fullAt: number;

  constructor(expectedItems: number, falsePositiveRate: number) {
    if (!Number.isSafeInteger(expectedItems) || expectedItems < 1) {
      throw new RangeError(`expectedItems must be a positive integer, got ${expectedItems}`);
    }
    if (!(falsePositiveRate > 0 && falsePositiveRate < 1)) {
      throw new RangeError(`falsePositiveRate must be in (0, 1), got ${falsePositiveRate}`);
    }
    const { bits, hashes } = bloomSize(expectedItems, falsePositiveRate);
    if (bits > 2 ** 32) throw new RangeError(`a filter of ${bits} bits is too large (at most 2^32)`);
    this.bits = bits;
    this.hashes = hashes;
    this.capacity = expectedItems;
    this.words = new Uint32Array(Math.ceil(bits / 32));
    this.fullAt = bits * (1 - Math.exp((-hashes * expectedItems) / bits));
  }

  add(key: string): void {
    const m = this.bits;
    const h1 = hash1(key);
    const step = (hash2(key) % m) || 1;
    let pos = h1 % m;
    for (let i = 0; i < this.hashes; i++) {
      const w = pos >>> 5;
      const bit = 1 << (pos & 31);
      const word = this.words[w]!;
      if ((word & bit) === 0) {
        this.words[w] = word | bit;
        this.setBits++;
      }
      pos += step;
      if (pos >= m) pos -= m;
    }
  }

  /** false: `key` was never added. true: it probably was (or is a false positive). */
  mightContain(key: string): boolean {
    const m = this.bits;
    const h1 = hash1(key);
    const step = (hash2(key) % m) || 1;
    let pos = h1 % m;
    for (let i = 0; i < this.hashes; i++) {
      if ((this.words[pos >>> 5]! & (1 << (pos & 31))) === 0) return false;
      pos += step;
      if (pos >= m) pos -= m;
    }
    return true;
  }

  /** Distinct items added, estimated from the bits set: n ≈ −(m/k)·ln(1 − X/m). */
  get estimatedItems(): number {
    const fill = this.setBits / this.bits;
    if (fill >= 1) return Infinity;
    return Math.round((-this.bits / this.hashes) * Math.log(1 - fill));
  }

  /** More distinct items than it was sized for (judged by the bits set): time to rebuild bigger. */
  get overCapacity(): boolean {
    return this.setBits > this.fullAt;
  }

  /** The false-positive rate now: (X/m)^k with X bits set. */
  get estimatedFalsePositiveRate(): number {
    return (this.setBits / this.bits) ** this.hashes;
  }

  /** Bytes held by the bit set. */
  get byteLength(): number {
    return this.words.byteLength;
  }
}

/** m and k for n items at false-positive rate p (see the class comment). */
export function bloomSize(expectedItems: number, falsePositiveRate: number): { bits: number; hashes: number } {
  const bits = Math.max(32, Math.ceil((-expectedItems * Math.log(falsePositiveRate)) / Math.LN2 ** 2));
  const hashes = Math.max(1, Math.round((bits / expectedItems) * Math.LN2));
  return { bits, hashes };
}

/** FNV-1a over UTF-16 code units, finished with murmur3's fmix32 for avalanche. Unsigned. */
function hash1(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return fmix32(h);
}

/** A second, independent hash: a different multiplier and seed, same finisher. Unsigned. */
function hash2(key: string): number {
  let h = 0x9747b28c;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x5bd1e995) ^ (h >>> 13);
  return fmix32(h ^ key.length);
}

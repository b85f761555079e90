import { murmur3_32String } from './murmur3.js';

/**
 * Jump consistent hash (Lamping & Veach, "A Fast, Minimal Memory, Consistent Hash Algorithm",
 * 2014): maps a 64-bit key to one of `buckets` numbered shards with no table at all, an even
 * split, and minimal movement: growing from N to N+1 buckets moves exactly the keys that land
 * in bucket N (about 1/(N+1) of them) and nothing else.
 *
 * Its limit is the reason the ring exists too: buckets are numbers 0..N-1, so only the last one
 * can be removed without reshuffling. Use it for shards that only grow (numbered PostgreSQL
 * databases); use the ring when arbitrary nodes come and go.
 *
 * The paper's loop needs 64-bit unsigned arithmetic (`key * 2862933555777941757 + 1`). BigInt
 * would allocate on every step, so the product is computed on two 32-bit halves; the result is
 * bit-for-bit the reference C++ code's (checked against its published outputs and a BigInt
 * transcription in the tests).
 */

const MUL_HI = 0x27bb2ee6;
const MUL_LO = 0x87b0b0fd;
const MUL_LO_0 = MUL_LO & 0xffff;
const MUL_LO_1 = MUL_LO >>> 16;
const TWO_32 = 0x1_0000_0000;
const MAX_BUCKETS = 0x7fff_ffff;
const U64_MAX = (1n << 64n) - 1n;

/**
 * The bucket in [0, buckets) for a 64-bit key: a non-negative safe integer (e.g. a 32-bit hash)
 * or a bigint in [0, 2^64). Keys should already be hashes: the algorithm spreads well-mixed keys
 * evenly, not sequential ids.
 */
export function jumpHash(key: number | bigint, buckets: number): number {
  checkBuckets(buckets);
  let hi: number;
  let lo: number;
  if (typeof key === 'bigint') {
    if (key < 0n || key > U64_MAX) throw new RangeError(`key must be in [0, 2^64), got ${key}`);
    hi = Number(key >> 32n);
    lo = Number(key & 0xffff_ffffn);
  } else {
    if (!Number.isSafeInteger(key) || key < 0) throw new RangeError(`key must be a non-negative safe integer, got ${key}`);
    hi = Math.floor(key / TWO_32);
    lo = key >>> 0;
  }
  return jump(hi, lo, buckets);
}

/**
 * The bucket for a string key: its UTF-8 bytes hashed with murmur3_32 under two seeds make the
 * 64-bit key (high word seed 0x9747b28c, low word seed 0), so distinct keys rarely share a key (a 32-bit key would collide at about 77,000
 * keys by the birthday bound; that is harmless for balance but 64 bits costs one more hash).
 */
export function jumpHashString(key: string, buckets: number): number {
  checkBuckets(buckets);
  return jump(murmur3_32String(key, 0x9747b28c), murmur3_32String(key, 0), buckets);
}

function checkBuckets(buckets: number): void {
  if (!Number.isInteger(buckets) || buckets < 1 || buckets > MAX_BUCKETS) {
    throw new RangeError(`buckets must be an integer in [1, ${MAX_BUCKETS}], got ${buckets}`);
  }
}

function jump(hi: number, lo: number, buckets: number): number {
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    // (hi:lo) = (hi:lo) * MUL + 1 mod 2^64. The high word of lo * MUL_LO needs the exact 64-bit
    // product, assembled from 16-bit halves (each partial product is an exact double).
    const lo0 = lo & 0xffff;
    const lo1 = lo >>> 16;
    const p00 = lo0 * MUL_LO_0;
    const p01 = lo0 * MUL_LO_1;
    const p10 = lo1 * MUL_LO_0;
    const p11 = lo1 * MUL_LO_1;
    const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    const carry = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
    hi = (carry + Math.imul(lo, MUL_HI) + Math.imul(hi, MUL_LO)) >>> 0;
    lo = (Math.imul(lo, MUL_LO) + 1) >>> 0;
    if (lo === 0) hi = (hi + 1) >>> 0;
    // key >> 33 is hi >>> 1; the C code multiplies in double and truncates toward zero.
    j = Math.floor((b + 1) * (2147483648 / ((hi >>> 1) + 1)));
  }
  return b;
}

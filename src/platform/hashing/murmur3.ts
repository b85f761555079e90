/**
 * MurmurHash3, x86 32-bit variant (Austin Appleby, public domain; SMHasher's
 * `MurmurHash3_x86_32`), over UTF-8 bytes.
 *
 * Why this hash for the ring (defect 4 in DESIGN.md): placement needs a well-mixed 32-bit value,
 * not a cryptographic digest. MD5 through `node:crypto` allocates a Hash object and a Buffer per
 * key and then throws away 96 of its 128 bits; murmur3 is a dozen integer operations per 4 bytes,
 * allocates nothing for ASCII keys, and passes SMHasher's distribution tests. It is not
 * collision-resistant: never use it where an attacker choosing keys would matter (the ring's
 * balance under adversarial keys is not a goal; the bounded-load variant caps the damage).
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mixK(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

function mixH(h: number, k: number): number {
  h ^= mixK(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number, tail: number, tailBytes: number, length: number): number {
  if (tailBytes > 0) h ^= mixK(tail);
  return fmix32(h ^ length);
}

/** murmur3's finaliser: every input bit affects every output bit. Unsigned 32-bit result. */
export function fmix32(x: number): number {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** murmur3_32 of raw bytes; returns an unsigned 32-bit integer. */
export function murmur3_32(bytes: Uint8Array, seed = 0): number {
  const length = bytes.length;
  const blocks = length & ~3;
  let h = seed | 0;
  for (let i = 0; i < blocks; i += 4) {
    h = mixH(h, bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
  }
  let tail = 0;
  const rest = length - blocks;
  if (rest === 3) tail ^= bytes[blocks + 2]! << 16;
  if (rest >= 2) tail ^= bytes[blocks + 1]! << 8;
  if (rest >= 1) tail ^= bytes[blocks]!;
  return finish(h, tail, rest, length);
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/**
 * murmur3_32 of the string's UTF-8 encoding: equal to `murmur3_32(new TextEncoder().encode(key))`
 * for every string, lone surrogates included (they encode as U+FFFD, as TextEncoder and
 * Buffer.from do), so another language hashing the same UTF-8 bytes agrees.
 *
 * Keys that are pure ASCII (short-link keys, node ids) are hashed straight from the UTF-16 code
 * units, four at a time, with no allocation; the first non-ASCII unit switches to encoding the
 * whole string into a reused buffer.
 */
export function murmur3_32String(key: string, seed = 0): number {
  const length = key.length;
  const blocks = length & ~3;
  let h = seed | 0;
  let i = 0;
  for (; i < blocks; i += 4) {
    const a = key.charCodeAt(i);
    const b = key.charCodeAt(i + 1);
    const c = key.charCodeAt(i + 2);
    const d = key.charCodeAt(i + 3);
    if ((a | b | c | d) > 0x7f) return hashUtf8(key, seed);
    h = mixH(h, a | (b << 8) | (c << 16) | (d << 24));
  }
  let tail = 0;
  for (let shift = 0; i < length; i++, shift += 8) {
    const c = key.charCodeAt(i);
    if (c > 0x7f) return hashUtf8(key, seed);
    tail |= c << shift;
  }
  return finish(h, tail, length - blocks, length);
}

function hashUtf8(key: string, seed: number): number {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  if (scratch.length < key.length * 3) scratch = new Uint8Array(key.length * 3);
  const { written } = encoder.encodeInto(key, scratch);
  return murmur3_32(scratch.subarray(0, written), seed);
}

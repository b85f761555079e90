/** Base62 over [0-9A-Za-z], fixed width, for non-negative safe integers. */
export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

const INDEX = new Map([...BASE62_ALPHABET].map((c, i) => [c, i]));

export function encodeBase62(value: number, width: number): string {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot encode ${value}`);
  if (!Number.isSafeInteger(width) || width < 1) throw new RangeError(`width must be a positive integer, got ${width}`);
  let out = '';
  let v = value;
  while (v > 0) {
    out = BASE62_ALPHABET[v % 62]! + out;
    v = Math.floor(v / 62);
  }
  if (out.length > width) throw new RangeError(`${value} does not fit in ${width} base62 digits`);
  return out.padStart(width, '0');
}

/** Inverse of encodeBase62; throws on an empty string, a non-digit or a value above 2^53 − 1. */
export function decodeBase62(text: string): number {
  if (text === '') throw new RangeError('cannot decode an empty string');
  let v = 0;
  for (const c of text) {
    const d = INDEX.get(c);
    if (d === undefined) throw new RangeError(`"${c}" is not a base62 digit`);
    v = v * 62 + d;
    // Past MAX_SAFE_INTEGER the arithmetic silently rounds (rounding is monotonic, so an
    // overflow always shows as > MAX_SAFE_INTEGER); refuse instead.
    if (v > Number.MAX_SAFE_INTEGER) throw new RangeError(`"${text.slice(0, 24)}" is too large to decode exactly`);
  }
  return v;
}

/** Base62 of the first bytes of a digest, `width` characters. */
export function bytesToBase62(bytes: Uint8Array, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++) {
    // 6 bytes per character would be overkill; one byte mod 62 is biased. Take 2 bytes each.
    const hi = bytes[(2 * i) % bytes.length]!;
    const lo = bytes[(2 * i + 1) % bytes.length]!;
    out += BASE62_ALPHABET[((hi << 8) | lo) % 62];
  }
  return out;
}

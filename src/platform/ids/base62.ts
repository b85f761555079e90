/** Base62 over [0-9A-Za-z], fixed width, for non-negative safe integers. */
export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

const INDEX = new Map([...BASE62_ALPHABET].map((c, i) => [c, i]));

export function encodeBase62(value: number, width: number): string {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot encode ${value}`);
  let out = '';
  let v = value;
  while (v > 0) {
    out = BASE62_ALPHABET[v % 62]! + out;
    v = Math.floor(v / 62);
  }
  if (out.length > width) throw new RangeError(`${value} does not fit in ${width} base62 digits`);
  return out.padStart(width, '0');
}

export function decodeBase62(text: string): number {
  let v = 0;
  for (const c of text) {
    const d = INDEX.get(c);
    if (d === undefined) throw new RangeError(`"${c}" is not a base62 digit`);
    v = v * 62 + d;
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

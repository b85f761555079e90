import { describe, expect, it } from 'vitest';
import { BASE62_ALPHABET, bytesToBase62, decodeBase62, encodeBase62 } from './base62.js';

describe('encodeBase62 / decodeBase62', () => {
  it('encodes known values in the 0-9A-Za-z alphabet', () => {
    expect(encodeBase62(0, 1)).toBe('0');
    expect(encodeBase62(9, 1)).toBe('9');
    expect(encodeBase62(10, 1)).toBe('A');
    expect(encodeBase62(36, 1)).toBe('a');
    expect(encodeBase62(61, 1)).toBe('z');
    expect(encodeBase62(62, 2)).toBe('10');
    expect(encodeBase62(62 ** 7 - 1, 7)).toBe('zzzzzzz');
  });

  it('pads to the width with leading zeros', () => {
    expect(encodeBase62(0, 7)).toBe('0000000');
    expect(encodeBase62(61, 7)).toBe('000000z');
    expect(encodeBase62(62 ** 3, 7)).toBe('0001000');
    expect(decodeBase62('0001000')).toBe(62 ** 3);
  });

  it('round-trips random values and preserves order for a fixed width', () => {
    const values = [0, 1, 61, 62, 3843, 3844, 62 ** 7 - 1, Number.MAX_SAFE_INTEGER];
    for (let i = 0; i < 5000; i++) values.push(Math.floor(Math.random() * 62 ** 7));
    for (const v of values) expect(decodeBase62(encodeBase62(v, 9))).toBe(v);
    const sorted = [...values].sort((a, b) => a - b);
    const encoded = sorted.map((v) => encodeBase62(v, 9));
    expect([...encoded].sort()).toEqual(encoded); // ASCII order of the alphabet = numeric order
  });

  it('throws RangeError when the value does not fit the width', () => {
    expect(() => encodeBase62(62, 1)).toThrow(RangeError);
    expect(() => encodeBase62(62 ** 7, 7)).toThrow(RangeError);
    expect(encodeBase62(62 ** 7, 8)).toBe('10000000');
  });

  it('throws RangeError for values and widths it cannot encode', () => {
    for (const v of [-1, 1.5, Number.NaN, Infinity, Number.MAX_SAFE_INTEGER + 1]) {
      expect(() => encodeBase62(v, 12)).toThrow(RangeError);
    }
    for (const w of [0, -1, 2.5, Number.NaN]) expect(() => encodeBase62(1, w)).toThrow(RangeError);
  });

  it('decode rejects non-digits, empty input and values beyond 2^53 - 1', () => {
    for (const bad of ['abc-', 'a b', 'é', '+1', '']) expect(() => decodeBase62(bad)).toThrow(RangeError);
    expect(decodeBase62(encodeBase62(Number.MAX_SAFE_INTEGER, 9))).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => decodeBase62(encodeBase62(Number.MAX_SAFE_INTEGER, 9).replace(/^./, 'z'))).toThrow(RangeError);
    expect(() => decodeBase62('zzzzzzzzzz')).toThrow(RangeError);
  });
});

describe('bytesToBase62', () => {
  it('gives width characters from the alphabet, deterministically', () => {
    const bytes = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
    const out = bytesToBase62(bytes, 7);
    expect(out).toHaveLength(7);
    expect([...out].every((c) => BASE62_ALPHABET.includes(c))).toBe(true);
    expect(bytesToBase62(bytes, 7)).toBe(out);
    // Each character is (2 bytes, big-endian) mod 62.
    expect(bytesToBase62(Uint8Array.from([0x01, 0x00, 0x00, 0x3d]), 2)).toBe(BASE62_ALPHABET[256 % 62]! + 'z');
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { murmur3_32, murmur3_32String } from './murmur3.js';

const utf8 = (s: string) => new TextEncoder().encode(s);

describe('murmur3_32', () => {
  // Published MurmurHash3_x86_32 vectors (the set widely quoted from SMHasher users, e.g. the
  // Stack Overflow "MurmurHash3 test vectors" answer); each was re-checked against SMHasher's C.
  it.each([
    ['', 0, 0x00000000],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['\0\0\0\0', 0, 0x2362f9de],
    ['a', 0x9747b28c, 0x7fa09ea6],
    ['aa', 0x9747b28c, 0x5d211726],
    ['aaa', 0x9747b28c, 0x283e0130],
    ['aaaa', 0x9747b28c, 0x5a97808a],
    ['abc', 0x9747b28c, 0xc84a62dd],
    ['abcd', 0x9747b28c, 0xf0478627],
    ['Hello, world!', 0x9747b28c, 0x24884cba],
    ['ππππππππ', 0x9747b28c, 0xd58063c1],
    ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
  ])('%j with seed %d is %d', (input, seed, expected) => {
    expect(murmur3_32(utf8(input), seed)).toBe(expected);
    expect(murmur3_32String(input, seed)).toBe(expected);
  });

  it("passes SMHasher's verification test (0xB0F57EE3)", () => {
    // Hash keys {}, {0}, {0,1}, … {0..254} with seed 256 - length, concatenate the hashes
    // little-endian, hash that with seed 0: SMHasher's VerificationTest for MurmurHash3_x86_32.
    const key = new Uint8Array(256);
    const hashes = new Uint8Array(256 * 4);
    const view = new DataView(hashes.buffer);
    for (let i = 0; i < 256; i++) {
      key[i] = i;
      view.setUint32(i * 4, murmur3_32(key.subarray(0, i), 256 - i), true);
    }
    expect(murmur3_32(hashes, 0)).toBe(0xb0f57ee3);
  });

  it('hashes a string exactly as its UTF-8 bytes, for any string including lone surrogates', () => {
    const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    const strings = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: anyUnit }), fc.string());
    fc.assert(
      fc.property(strings, fc.integer({ min: 0, max: 0xffffffff }), (s, seed) => {
        expect(murmur3_32String(s, seed)).toBe(murmur3_32(utf8(s), seed));
      }),
      { numRuns: 2000 },
    );
  });

  it('switches to the UTF-8 path at any position of the first non-ASCII character', () => {
    for (let at = 0; at < 12; at++) {
      const s = 'x'.repeat(at) + 'é' + 'y'.repeat(11 - at);
      expect(murmur3_32String(s, 7)).toBe(murmur3_32(utf8(s), 7));
    }
    expect(murmur3_32String('\ud800')).toBe(murmur3_32(Uint8Array.of(0xef, 0xbf, 0xbd)));
  });

  it('returns unsigned 32-bit integers and depends on the seed', () => {
    const values = ['a', 'b', 'tny', 'x'.repeat(1000)].map((s) => murmur3_32String(s, 1));
    for (const v of values) expect(Number.isInteger(v) && v >= 0 && v <= 0xffffffff).toBe(true);
    expect(murmur3_32String('tny', 1)).not.toBe(murmur3_32String('tny', 2));
  });
});

import { describe, expect, it } from 'vitest';
import { FakeClock } from '../clock.js';
import { LocalCache } from './local-cache.js';

function make(max = 3) {
  const clock = new FakeClock();
  return { clock, cache: new LocalCache<string>({ max, clock }) };
}

describe('LocalCache', () => {
  it('returns a value until its own ttl passes, then misses and deletes it', () => {
    const { clock, cache } = make();
    cache.set('a', 'A', 1000);
    clock.advance(999);
    expect(cache.get('a')).toBe('A');
    clock.advance(1);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('gives each entry its own ttl', () => {
    const { clock, cache } = make();
    cache.set('short', 's', 100);
    cache.set('long', 'l', 10_000);
    clock.advance(500);
    expect(cache.get('short')).toBeUndefined();
    expect(cache.get('long')).toBe('l');
  });

  it('overwriting a key resets its value and expiry', () => {
    const { clock, cache } = make();
    cache.set('a', 'old', 100);
    clock.advance(90);
    cache.set('a', 'new', 100);
    clock.advance(90);
    expect(cache.get('a')).toBe('new');
    expect(cache.size).toBe(1);
  });

  it('evicts the least recently used entry beyond max', () => {
    const { cache } = make(2);
    cache.set('a', 'A', 1000);
    cache.set('b', 'B', 1000);
    cache.get('a'); // a is now more recent than b
    cache.set('c', 'C', 1000);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('A');
    expect(cache.get('c')).toBe('C');
    expect(cache.size).toBe(2);
  });

  it('an overwrite counts as a use for LRU order', () => {
    const { cache } = make(2);
    cache.set('a', 'A', 1000);
    cache.set('b', 'B', 1000);
    cache.set('a', 'A2', 1000);
    cache.set('c', 'C', 1000);
    expect(cache.get('a')).toBe('A2');
    expect(cache.get('b')).toBeUndefined();
  });

  it('counts hits and misses, expired reads as misses', () => {
    const { clock, cache } = make();
    cache.set('a', 'A', 100);
    cache.get('a');
    cache.get('a');
    cache.get('nope');
    clock.advance(100);
    cache.get('a');
    expect(cache.stats()).toEqual({ hits: 2, misses: 2, size: 0 });
  });

  it('delete and clear remove entries', () => {
    const { cache } = make();
    cache.set('a', 'A', 1000);
    cache.set('b', 'B', 1000);
    expect(cache.delete('a')).toBe(true);
    expect(cache.delete('a')).toBe(false);
    expect(cache.get('a')).toBeUndefined();
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get('b')).toBeUndefined();
  });

  it('Infinity ttl never expires; a non-positive ttl is refused', () => {
    const { clock, cache } = make();
    cache.set('a', 'A', Infinity);
    clock.advance(10 ** 12);
    expect(cache.get('a')).toBe('A');
    expect(() => cache.set('b', 'B', 0)).toThrow(RangeError);
    expect(() => cache.set('b', 'B', Number.NaN)).toThrow(RangeError);
    expect(() => new LocalCache({ max: 0 })).toThrow(RangeError);
  });

  it('can hold falsy values', () => {
    const clock = new FakeClock();
    const cache = new LocalCache<number | null>({ max: 2, clock });
    cache.set('zero', 0, 100);
    cache.set('null', null, 100);
    expect(cache.get('zero')).toBe(0);
    expect(cache.get('null')).toBeNull();
  });
});

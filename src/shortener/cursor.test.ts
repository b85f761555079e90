import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './cursor.js';

describe('cursor', () => {
  it('round-trips and is opaque base64url', () => {
    const c = { sort: 'clicks', order: 'asc', value: 42, key: 'abc_-1' } as const;
    const text = encodeCursor(c);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(text, 'clicks', 'asc')).toEqual(c);
  });

  it.each([
    ['', 'not base64url'],
    ['!!!', 'not base64url'],
    [Buffer.from('{"a":1}').toString('base64url'), 'not a cursor'],
    [Buffer.from('not json').toString('base64url'), 'not a cursor'],
    [Buffer.from('["created_at","desc",1.5,"k"]').toString('base64url'), 'not a cursor'],
    [Buffer.from('["clicks","desc",1,"k"]').toString('base64url'), 'another sort'],
    ['A'.repeat(600), 'not base64url'],
  ])('refuses %s (%s) with INVALID_CURSOR', (text, why) => {
    expect(() => decodeCursor(text, 'created_at', 'desc')).toThrowError(new RegExp(why));
  });
});

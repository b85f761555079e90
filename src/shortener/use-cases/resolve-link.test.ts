import { describe, expect, it } from 'vitest';
import type { ShortenerPolicy } from '../context.js';
import type { Link } from '../link.js';
import { cacheControlFor, withQuery } from './resolve-link.js';

describe('withQuery', () => {
  it.each([
    ['https://e.com/p', 'a=1', 'https://e.com/p?a=1'],
    ['https://e.com/p?x=2', 'a=1', 'https://e.com/p?x=2&a=1'],
    ['https://e.com/p#frag', 'a=1', 'https://e.com/p?a=1#frag'],
    ['https://e.com/p?x#frag', 'a=1&b', 'https://e.com/p?x&a=1&b#frag'],
    ['https://e.com/p', 'q=caf\u00e9 x', 'https://e.com/p?q=caf%C3%A9%20x'],
    ['https://e.com/p', 'a=1#x', 'https://e.com/p?a=1%23x'],
  ])('%s + ?%s → %s', (target, query, expected) => {
    expect(withQuery(target, query)).toBe(expected);
  });
});

describe('cacheControlFor', () => {
  const policy = { permanentMaxAgeSeconds: 86_400, temporaryMaxAgeSeconds: 0 } as ShortenerPolicy;
  const base: Link = {
    id: 1, key: 'k', url: 'https://e.com/', accountId: 1, createdAt: 0, updatedAt: 0, expiresAt: null, maxClicks: null,
    clickCount: 0, redirectStatus: 301, passwordHash: null, tags: [], forwardQuery: false, disabled: false,
  };
  it.each([
    [{}, 'public, max-age=86400'],
    [{ redirectStatus: 308 as const }, 'public, max-age=86400'],
    [{ redirectStatus: 302 as const }, 'private, max-age=0'],
    [{ redirectStatus: 307 as const }, 'private, max-age=0'],
    [{ maxClicks: 5 }, 'no-store'],
    [{ passwordHash: 'scrypt$…' }, 'no-store'],
    [{ expiresAt: 1_000 + 90_500 }, 'public, max-age=90'],
  ])('%o → %s', (patch, expected) => {
    expect(cacheControlFor({ ...base, ...patch }, 1_000, policy)).toBe(expected);
  });
});

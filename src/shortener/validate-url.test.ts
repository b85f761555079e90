import { describe, expect, it } from 'vitest';
import { isTnyError } from '../platform/errors.js';
import { normalizeTargetUrl, type UrlPolicy } from './validate-url.js';

const policy: UrlPolicy = { maxLength: 100, blocklist: ['evil.test'], baseUrl: 'https://tny.example' };

function refusal(raw: unknown): string {
  try {
    normalizeTargetUrl(raw, policy);
  } catch (err) {
    if (isTnyError(err)) return err.code;
    throw err;
  }
  return 'accepted';
}

describe('normalizeTargetUrl', () => {
  it.each([
    ['https://example.com', 'https://example.com/'],
    ['  http://Example.COM/a?b=1#c ', 'http://example.com/a?b=1#c'],
    ['https://bücher.example/ä', 'https://xn--bcher-kva.example/%C3%A4'],
    ['https://example.com/a b', 'https://example.com/a%20b'],
  ])('accepts %s as %s', (raw, normal) => {
    expect(normalizeTargetUrl(raw, policy)).toBe(normal);
  });

  it.each([
    [undefined],
    [''],
    [42],
    ['javascript:alert(1)'],
    ['data:text/html,hi'],
    ['file:///etc/passwd'],
    ['ftp://example.com'],
    ['/relative/path'],
    ['example.com'],
    [`https://example.com/${'a'.repeat(100)}`],
    ['https://tny.example/abc'],
    ['http://TNY.example./abc'],
    ['https://evil.test/x'],
    ['https://sub.evil.test/x'],
  ])('refuses %s with INVALID_URL', (raw) => {
    expect(refusal(raw)).toBe('INVALID_URL');
  });

  it('does not block hosts that merely end with a blocked name', () => {
    expect(refusal('https://notevil.test/x')).toBe('accepted');
  });

  it('allows tny’s host on another port when BASE_URL names a port', () => {
    const p = { ...policy, baseUrl: 'http://127.0.0.1:8080' };
    expect(normalizeTargetUrl('http://127.0.0.1:3000/x', p)).toBe('http://127.0.0.1:3000/x');
    expect(() => normalizeTargetUrl('http://127.0.0.1:8080/x', p)).toThrow();
  });
});

import { describe, expect, it } from 'vitest';
import { retryAfterOf, isPermanent, isRetryable, RetryableError } from './errors.js';
import { parseRetryAfter } from './retry-after.js';

const now = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('parseRetryAfter', () => {
  it.each<[string | null | undefined, number | undefined]>([
    ['120', 120_000],
    [' 0 ', 0],
    ['Thu, 01 Jan 2026 12:00:30 GMT', 30_000],
    ['Thu, 01 Jan 2026 11:59:00 GMT', 0], // in the past: now
    ['-5', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['', undefined],
    ['99999999999999999999', undefined],
    [null, undefined],
    [undefined, undefined],
  ])('%j → %j', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});

describe('error marks', () => {
  it.each<[string, unknown, boolean, boolean, number | undefined]>([
    ['RetryableError with retryAfterMs', new RetryableError('429', { retryAfterMs: 2000 }), true, false, 2000],
    ['a structural mark', { retryable: false, retryAfterMs: -1 }, false, true, undefined],
    ['a plain Error', new Error('x'), false, false, undefined],
    ['null', null, false, false, undefined],
    ['NaN retryAfterMs', { retryable: true, retryAfterMs: Number.NaN }, true, false, undefined],
  ])('%s', (_name, err, retryable, permanent, retryAfter) => {
    expect([isRetryable(err), isPermanent(err), retryAfterOf(err)]).toEqual([retryable, permanent, retryAfter]);
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, isTnyError, TnyError, validationError } from './errors.js';

describe('error catalogue', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map([...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));

  it('docs/errors.md lists every code with its status, and nothing else', () => {
    const catalogue = new Map(Object.entries(ERROR_CATALOGUE).map(([code, e]) => [code, e.status]));
    expect(rows).toEqual(catalogue);
  });

  it('codes are SCREAMING_SNAKE and statuses are 4xx/5xx', () => {
    for (const [code, e] of Object.entries(ERROR_CATALOGUE)) {
      expect(code).toMatch(/^[A-Z]+(_[A-Z]+)*$/);
      expect(e.status).toBeGreaterThanOrEqual(400);
      expect(e.status).toBeLessThan(600);
    }
  });
});

describe('TnyError', () => {
  it('takes status from the catalogue and is recognised by brand', () => {
    const e = new TnyError('ALIAS_TAKEN');
    expect(e.status).toBe(409);
    expect(e.retryable).toBe(false);
    expect(isTnyError(e)).toBe(true);
    expect(isTnyError(new Error('x'))).toBe(false);
    expect(isTnyError({ code: 'ALIAS_TAKEN' })).toBe(false);
  });

  it('5xx are retryable unless said otherwise', () => {
    expect(new TnyError('SERVICE_UNAVAILABLE').retryable).toBe(true);
    expect(new TnyError('INTERNAL_ERROR', { retryable: false }).retryable).toBe(false);
  });

  it('validationError names the first field in its message', () => {
    const e = validationError([{ field: 'url', message: 'is required' }, { field: 'alias', message: 'bad' }]);
    expect(e.code).toBe('VALIDATION_ERROR');
    expect(e.message).toBe('url: is required');
    expect(e.details).toHaveLength(2);
  });
});

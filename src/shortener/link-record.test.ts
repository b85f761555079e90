import { describe, expect, it } from 'vitest';
import { isTnyError } from '../platform/errors.js';
import { parseLinkRecord, toCsvCells, toLinkRecord } from './link-record.js';
import type { Link } from './link.js';
import { hashPassword, isPasswordHash } from './password.js';

const NOW = Date.UTC(2026, 0, 1);

function problems(raw: Record<string, unknown>): string[] {
  try {
    parseLinkRecord(raw, NOW);
    return [];
  } catch (err) {
    if (!isTnyError(err)) throw err;
    return (err.details ?? []).map((d) => `${d.field}: ${d.message}`);
  }
}

describe('parseLinkRecord', () => {
  it('reads CSV strings and JSON values alike; empty means default', () => {
    const csv = parseLinkRecord({ url: 'https://e.x', alias: '', tags: ' a, b ,,c', max_clicks: ' 7 ', forward_query: 'YES', disabled: '0', redirect_status: '' }, NOW);
    const json = parseLinkRecord({ url: 'https://e.x', alias: null, tags: ['a', 'b', 'c'], max_clicks: 7, forward_query: true, disabled: false }, NOW);
    for (const parsed of [csv, json]) {
      expect(parsed.input).toMatchObject({ url: 'https://e.x', tags: ['a', 'b', 'c'], maxClicks: 7, forwardQuery: true, disabled: false });
      expect(parsed.input.alias).toBeUndefined();
      expect(parsed.input.redirectStatus).toBeUndefined();
    }
    expect(parseLinkRecord({ url: 'u', created_at: '2025-05-05T00:00:00Z' }, NOW).createdAt).toBe(Date.UTC(2025, 4, 5));
  });

  it('lists every bad field; numbers that are not whole are left to the API validation', () => {
    expect(problems({ url: 'u', disabled: 'maybe', alias: 5, password_hash: 'x', created_at: '2999-01-01T00:00:00Z', tags: 3 })).toEqual([
      'alias: must be a string',
      'tags: must be a list or text separated by ","',
      'disabled: must be true or false',
      'password_hash: must be a scrypt hash made by tny (scrypt$N$r$p$salt$hash)',
      'created_at: must not be in the future',
    ]);
    expect(Number.isNaN(parseLinkRecord({ url: 'u', max_clicks: '1.5' }, NOW).input.maxClicks)).toBe(true);
  });

  it('round-trips a link through its record', () => {
    const link: Link = {
      id: 1, key: 'k3y', url: 'https://e.x/', accountId: 1, createdAt: NOW - 1000, updatedAt: NOW, expiresAt: NOW + 1000,
      maxClicks: 3, clickCount: 0, redirectStatus: 308, passwordHash: null, tags: ['a', 'b'], forwardQuery: true, disabled: false,
    };
    const record = toLinkRecord(link);
    expect(toCsvCells(record)).toEqual(['https://e.x/', 'k3y', 'a,b', new Date(NOW + 1000).toISOString(), '3', '308', 'true', 'false', '', new Date(NOW - 1000).toISOString()]);
    const back = parseLinkRecord(record as unknown as Record<string, unknown>, NOW);
    expect(back.createdAt).toBe(link.createdAt);
    expect(back.input).toMatchObject({ alias: 'k3y', tags: ['a', 'b'], maxClicks: 3, redirectStatus: 308, forwardQuery: true, disabled: false });
  });
});

describe('isPasswordHash', () => {
  it('accepts what hashPassword makes and refuses look-alikes', async () => {
    const good = await hashPassword('pw');
    expect(isPasswordHash(good)).toBe(true);
    const [, n, r, p, salt, hash] = good.split('$');
    const bad = [
      `bcrypt$${n}$${r}$${p}$${salt}$${hash}`,
      `scrypt$1000$${r}$${p}$${salt}$${hash}`, // N not a power of two
      `scrypt$${2 ** 30}$${r}$${p}$${salt}$${hash}`, // too costly to verify
      `scrypt$${n}$0$${p}$${salt}$${hash}`,
      `scrypt$${n}$${r}$${p}$${salt}$${hash!.slice(1)}`,
      `scrypt$${n}$${r}$${p}$sa+t$${hash}`,
      `scrypt$${n}$${r}$${p}$${salt}`,
      '',
    ];
    for (const text of bad) expect(isPasswordHash(text), text).toBe(false);
  });
});

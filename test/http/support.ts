import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { ERROR_CATALOGUE } from '../../src/platform/errors.js';
import type { FakeClock } from '../../src/platform/clock.js';
import type { TestApp } from '../helpers/app.js';

/** Shared checks of the HTTP suites: the envelope of chapter §8.2 and the error catalogue. */

export interface ErrorEnvelope {
  status: 'error';
  error: { code: string; message: string; details?: { field: string; message: string }[] };
}

const CODES = new Set(Object.keys(ERROR_CATALOGUE));

/** Why `body` is not a valid envelope, or undefined when it is one. */
export function envelopeProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'not an object';
  const b = body as Record<string, unknown>;
  if (b.status === 'success') return 'data' in b ? undefined : 'success without data';
  if (b.status !== 'error') return `status is ${JSON.stringify(b.status)}`;
  const extra = Object.keys(b).filter((k) => k !== 'status' && k !== 'error');
  if (extra.length > 0) return `unexpected fields ${extra.join(',')}`;
  const e = b.error as Record<string, unknown> | undefined;
  if (typeof e !== 'object' || e === null) return 'error is not an object';
  if (typeof e.code !== 'string' || !CODES.has(e.code)) return `code ${JSON.stringify(e.code)} is not in ERROR_CATALOGUE`;
  if (typeof e.message !== 'string' || e.message === '') return 'message is not a non-empty string';
  const keys = Object.keys(e).filter((k) => k !== 'code' && k !== 'message' && k !== 'details');
  if (keys.length > 0) return `unexpected error fields ${keys.join(',')}`;
  if (e.details !== undefined) {
    if (!Array.isArray(e.details) || e.details.length === 0) return 'details is not a non-empty array';
    for (const d of e.details as unknown[]) {
      const f = d as Record<string, unknown>;
      if (typeof f !== 'object' || f === null || typeof f.field !== 'string' || typeof f.message !== 'string') {
        return `bad detail ${JSON.stringify(d)}`;
      }
    }
  }
  return undefined;
}

/** Asserts a JSON error envelope with this status and code (the code's catalogue status). */
export function expectError(res: LightMyRequestResponse, status: number, code: string): ErrorEnvelope {
  const ctx = `${res.statusCode} ${res.body.slice(0, 300)}`;
  expect(res.statusCode, ctx).toBe(status);
  expect(res.headers['content-type'], ctx).toMatch(/^application\/json/);
  const body: unknown = res.json();
  expect(envelopeProblem(body), ctx).toBeUndefined();
  const env = body as ErrorEnvelope;
  expect(env.error.code, ctx).toBe(code);
  expect(ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE]?.status, `catalogue status of ${code}`).toBe(status);
  return env;
}

/** The `data` of a success envelope with this status. */
export function expectData<T = Record<string, any>>(res: LightMyRequestResponse, status = 200): T {
  expect(res.statusCode, `${res.statusCode} ${res.body.slice(0, 300)}`).toBe(status);
  const body = res.json();
  expect(body.status).toBe('success');
  return body.data as T;
}

/** Creates a link through the API and returns its data. */
export async function createLink(t: TestApp, key: string, body: Record<string, unknown>, headers?: Record<string, string>) {
  return expectData(await t.call('POST', '/api/v1/links', { key, body, headers }), 201);
}

export function fakeClock(t: TestApp): FakeClock {
  return t.clock as FakeClock;
}

export const DAY_MS = 86_400_000;

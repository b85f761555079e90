import type { ErrorCode, FieldError } from '../platform/errors.js';

/** The response shapes of chapter §8.2. */
export interface SuccessBody<T> {
  status: 'success';
  data: T;
}

export interface ListBody<T> {
  status: 'success';
  data: T[];
  pagination: { next_cursor: string | null; limit: number };
}

export interface ErrorBody {
  status: 'error';
  error: { code: ErrorCode; message: string; details?: FieldError[] };
}

export function ok<T>(data: T): SuccessBody<T> {
  return { status: 'success', data };
}

export function page<T>(data: T[], nextCursor: string | null, limit: number): ListBody<T> {
  return { status: 'success', data, pagination: { next_cursor: nextCursor, limit } };
}

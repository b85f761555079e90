import { ERROR_CATALOGUE, isTnyError, TnyError, type FieldError } from '../platform/errors.js';
import type { ErrorBody } from './envelope.js';

export interface MappedError {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
  /** true when the error is ours to fix (logged at error level). */
  internal: boolean;
}

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  validation?: { instancePath?: string; params?: Record<string, unknown>; message?: string }[];
  validationContext?: string;
}

function field(context: string | undefined, path: string | undefined, params: Record<string, unknown> | undefined): string {
  const missing = params?.missingProperty ?? params?.requiredProperty;
  const parts = (path ?? '').split('/').filter(Boolean);
  if (typeof missing === 'string') parts.push(missing);
  const extra = params?.additionalProperty;
  if (typeof extra === 'string') parts.push(extra);
  if (parts.length === 0) return context ?? 'body';
  return parts.join('.');
}

function fromFastify(err: FastifyLikeError): TnyError | undefined {
  if (err.validation) {
    const details: FieldError[] = err.validation.map((v) => ({
      field: field(err.validationContext, v.instancePath, v.params),
      message: v.message ?? 'is invalid',
    }));
    return new TnyError('VALIDATION_ERROR', { details, message: details[0] ? `${details[0].field}: ${details[0].message}` : undefined });
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new TnyError('UNSUPPORTED_MEDIA_TYPE');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new TnyError('PAYLOAD_TOO_LARGE');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new TnyError('MALFORMED_JSON');
    default:
      break;
  }
  if (err instanceof SyntaxError && err.statusCode === 400) return new TnyError('MALFORMED_JSON');
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    if (err.statusCode === 404) return new TnyError('NOT_FOUND');
    if (err.statusCode === 413) return new TnyError('PAYLOAD_TOO_LARGE');
    if (err.statusCode === 415) return new TnyError('UNSUPPORTED_MEDIA_TYPE');
    return new TnyError('BAD_REQUEST');
  }
  return undefined;
}

/** The one place where errors become responses. 5xx never carry internals. */
export function mapError(err: unknown): MappedError {
  const known = isTnyError(err) ? err : fromFastify((err ?? {}) as FastifyLikeError);
  if (!known) {
    return {
      status: 500,
      body: { status: 'error', error: { code: 'INTERNAL_ERROR', message: ERROR_CATALOGUE.INTERNAL_ERROR.message } },
      headers: {},
      internal: true,
    };
  }
  const error: ErrorBody['error'] = { code: known.code, message: known.message };
  if (known.details && known.details.length > 0) error.details = known.details;
  return { status: known.status, body: { status: 'error', error }, headers: known.headers ?? {}, internal: known.status >= 500 };
}

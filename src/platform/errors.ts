/**
 * tny's error model. Every error a client can see is a `TnyError` with a stable `code`
 * (listed in docs/errors.md), an HTTP status and optional field details. The HTTP layer
 * has exactly one mapper that turns them into the error envelope.
 *
 * `retryable` tells queues and retry policies whether trying again can help: a permanent
 * failure (bad input, invalid token) must never be retried.
 */

export interface FieldError {
  field: string;
  message: string;
}

export const ERROR_CATALOGUE = {
  BAD_REQUEST: { status: 400, message: 'The request could not be understood.' },
  MALFORMED_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  INVALID_CURSOR: { status: 400, message: 'The pagination cursor is invalid.' },
  UNAUTHORIZED: { status: 401, message: 'A valid API key is required.' },
  INVALID_PASSWORD: { status: 401, message: 'The password for this link is wrong.' },
  PASSWORD_REQUIRED: { status: 401, message: 'This link is protected by a password.' },
  FORBIDDEN: { status: 403, message: 'This API key is not allowed to do that.' },
  NOT_FOUND: { status: 404, message: 'Nothing is here.' },
  LINK_NOT_FOUND: { status: 404, message: 'No link has this key.' },
  ACCOUNT_NOT_FOUND: { status: 404, message: 'No account has this name.' },
  API_KEY_NOT_FOUND: { status: 404, message: 'No active API key has this id.' },
  RECIPIENT_NOT_FOUND: { status: 404, message: 'No recipient has this id.' },
  CONTACT_POINT_NOT_FOUND: { status: 404, message: 'The recipient has no contact point with this id.' },
  CATEGORY_NOT_FOUND: { status: 404, message: 'No category has this name.' },
  TEMPLATE_NOT_FOUND: { status: 404, message: 'No template matches this name, channel and locale.' },
  NOTIFICATION_NOT_FOUND: { status: 404, message: 'No notification has this id.' },
  DELIVERY_NOT_FOUND: { status: 404, message: 'No delivery has this id.' },
  SAGA_RUN_NOT_FOUND: { status: 404, message: 'No saga run has this id.' },
  ALIAS_TAKEN: { status: 409, message: 'This alias is already taken.' },
  ACCOUNT_EXISTS: { status: 409, message: 'An account with this name exists.' },
  RECIPIENT_EXISTS: { status: 409, message: 'A recipient with this id exists.' },
  CONTACT_POINT_EXISTS: { status: 409, message: 'The recipient already has this contact point.' },
  CATEGORY_EXISTS: { status: 409, message: 'A category with this name exists.' },
  DELIVERY_NOT_RETRYABLE: { status: 409, message: 'Only dead or failed deliveries can be retried.' },
  ACCOUNT_NOT_DELETABLE: { status: 409, message: 'This account cannot be deleted.' },
  IDEMPOTENCY_IN_PROGRESS: {
    status: 409,
    message: 'A request with this Idempotency-Key is still being processed.',
  },
  LINK_EXPIRED: { status: 410, message: 'This link has expired.' },
  LINK_CLICK_LIMIT_REACHED: { status: 410, message: 'This link has reached its click limit.' },
  LINK_DISABLED: { status: 410, message: 'This link has been disabled.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The content type is not supported.' },
  VALIDATION_ERROR: { status: 422, message: 'The request is not valid.' },
  INVALID_URL: { status: 422, message: 'The URL cannot be shortened.' },
  INVALID_ALIAS: { status: 422, message: 'The alias is not valid.' },
  RESERVED_ALIAS: { status: 422, message: 'The alias is reserved.' },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    message: 'This Idempotency-Key was used with a different request.',
  },
  TEMPLATE_INVALID: { status: 422, message: 'The template cannot be parsed or rendered.' },
  TEMPLATE_VARIABLES_MISSING: { status: 422, message: 'The data lacks variables the template uses.' },
  TEMPLATE_RENDER_LIMIT: { status: 422, message: 'Rendering the template exceeded its time or memory limit.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests.' },
  INTERNAL_ERROR: { status: 500, message: 'Something went wrong on our side.' },
  SERVICE_UNAVAILABLE: { status: 503, message: 'The service is unavailable.' },
  SHARDS_CHANGING: { status: 503, message: 'The shard set is changing; work that spans the shards cannot start now.' },
  IMPORT_FAILED: { status: 503, message: 'The import failed for good; everything it inserted was removed.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

const BRAND = Symbol.for('tny.error');

export interface TnyErrorOptions {
  message?: string;
  details?: FieldError[];
  retryable?: boolean;
  /** Extra response headers, e.g. Retry-After for RATE_LIMITED. */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class TnyError extends Error {
  readonly [BRAND] = true;
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: FieldError[] | undefined;
  readonly retryable: boolean;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, options: TnyErrorOptions = {}) {
    super(options.message ?? ERROR_CATALOGUE[code].message, { cause: options.cause });
    this.name = 'TnyError';
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.details = options.details;
    this.retryable = options.retryable ?? this.status >= 500;
    this.headers = options.headers;
  }
}

export function isTnyError(err: unknown): err is TnyError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
}

export function validationError(details: FieldError[], code: ErrorCode = 'VALIDATION_ERROR'): TnyError {
  const first = details[0];
  return new TnyError(code, {
    details,
    message: first ? `${first.field}: ${first.message}` : undefined,
  });
}

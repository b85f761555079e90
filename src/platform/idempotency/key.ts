/** An idempotency key as callers may send it: 1 to 255 visible ASCII characters (no spaces). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export const IDEMPOTENCY_KEY_RULE = 'must be 1 to 255 visible ASCII characters';

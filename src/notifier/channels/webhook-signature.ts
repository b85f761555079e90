import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks signatures (standardwebhooks.com): the sender signs `id.timestamp.body`
 * with HMAC-SHA256 and sends `webhook-id`, `webhook-timestamp` (Unix seconds) and
 * `webhook-signature: v1,<base64>` (space-separated when several secrets are live during a
 * rotation). The receiver recomputes the HMAC over the exact raw body, compares in constant
 * time, and refuses timestamps outside a tolerance so a captured request cannot be replayed
 * later; `webhook-id` lets it drop a redelivery it has already processed.
 *
 * Secrets are `whsec_<base64>` as in the spec; any other string is used as UTF-8 bytes.
 */

export type WebhookSignatureHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

function secretBytes(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
}

function hmac(secret: string, id: string, timestamp: string, body: string | Buffer): Buffer {
  return createHmac('sha256', secretBytes(secret))
    .update(`${id}.${timestamp}.`)
    .update(body)
    .digest();
}

/** The three headers for one request; `timestampS` is whole Unix seconds. */
export function signWebhook(secret: string, id: string, timestampS: number, body: string): WebhookSignatureHeaders {
  const timestamp = String(Math.floor(timestampS));
  return {
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${hmac(secret, id, timestamp, body).toString('base64')}`,
  };
}

export type WebhookVerification =
  | { ok: true; id: string; timestampS: number }
  | { ok: false; reason: 'missing-headers' | 'bad-timestamp' | 'timestamp-too-old' | 'timestamp-in-future' | 'bad-signature' };

type HeaderBag = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const bag = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(bag).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : bag[key];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Verifies a received webhook. `body` must be the raw bytes as received (re-serialised JSON
 * does not match); `toleranceS` bounds the age (and the clock skew into the future).
 */
export function verifyWebhookSignature(
  headers: HeaderBag,
  body: string | Buffer,
  secret: string,
  toleranceS = 300,
  nowMs: number = Date.now(),
): WebhookVerification {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) return { ok: false, reason: 'missing-headers' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'bad-timestamp' };
  const timestampS = Number(timestamp);
  const nowS = Math.floor(nowMs / 1000);
  if (timestampS < nowS - toleranceS) return { ok: false, reason: 'timestamp-too-old' };
  if (timestampS > nowS + toleranceS) return { ok: false, reason: 'timestamp-in-future' };
  const expected = hmac(secret, id, timestamp, body);
  for (const entry of signatures.split(' ')) {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || value === undefined) continue;
    const given = Buffer.from(value, 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return { ok: true, id, timestampS };
  }
  return { ok: false, reason: 'bad-signature' };
}

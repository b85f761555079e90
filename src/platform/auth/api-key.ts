import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { BASE62_ALPHABET } from '../ids/base62.js';

/**
 * API keys look like `tny_<id>_<secret>`. The id (public, 12 chars) finds the record; the
 * secret (32 chars, ~190 bits) is stored only as its SHA-256 and compared in constant time.
 */
export const KEY_PREFIX = 'tny_';
const ID_LENGTH = 12;
const SECRET_LENGTH = 32;
const PATTERN = /^tny_([0-9A-Za-z]{12})_([0-9A-Za-z]{32})$/;

function randomBase62(length: number): string {
  // Rejection sampling over bytes < 248 (= 4 * 62) keeps every character equally likely.
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 248 && out.length < length) out += BASE62_ALPHABET[b % 62];
    }
  }
  return out;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export interface NewApiKey {
  id: string;
  token: string;
  hash: string;
}

export function generateApiKey(): NewApiKey {
  const id = randomBase62(ID_LENGTH);
  const secret = randomBase62(SECRET_LENGTH);
  return { id, token: `${KEY_PREFIX}${id}_${secret}`, hash: hashSecret(secret) };
}

export function parseApiKey(token: string): { id: string; secret: string } | undefined {
  const m = PATTERN.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

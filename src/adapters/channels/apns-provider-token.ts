import { createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import type { Clock } from '../../platform/clock.js';
import { signJwt } from './jwt.js';

/**
 * APNs token-based authentication: an ES256 JWT with `kid` (the key id) and `iss` (the team
 * id), `iat` in seconds. Apple refuses tokens older than an hour (ExpiredProviderToken) and
 * throttles providers that make new ones more often than every 20 minutes
 * (TooManyProviderTokenUpdates), so one token is reused and refreshed after 50 minutes.
 */
export class ApnsProviderToken {
  private readonly key: KeyObject;
  private current: { jwt: string; issuedAtMs: number } | undefined;

  constructor(
    privateKeyPem: string,
    private readonly keyId: string,
    private readonly teamId: string,
    private readonly clock: Clock,
    private readonly refreshAfterMs = 50 * 60_000,
  ) {
    this.key = createPrivateKey(privateKeyPem);
  }

  get(): string {
    const now = this.clock.now();
    if (!this.current || now - this.current.issuedAtMs >= this.refreshAfterMs) {
      this.current = {
        jwt: signJwt('ES256', { kid: this.keyId }, { iss: this.teamId, iat: Math.floor(now / 1000) }, this.key),
        issuedAtMs: now,
      };
    }
    return this.current.jwt;
  }

  /** Apple said the token expired: the next `get` signs a new one. */
  invalidate(): void {
    this.current = undefined;
  }
}

/**
 * A UUID derived from the idempotency key (SHA-256, RFC 9562 version 8 layout), for apns-id
 * and apns-collapse-id: the same delivery gets the same id on every retry, and a duplicate that
 * does reach the device replaces the first instead of showing twice.
 */
export function uuidFromKey(key: string): string {
  const b = createHash('sha256').update(key).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

import { sign, type KeyObject } from 'node:crypto';

/**
 * A compact JWS (RFC 7515) signed with node:crypto: RS256 for Google service accounts, ES256
 * for APNs provider tokens. ES256 signatures are the raw r||s form JOSE requires
 * (`ieee-p1363`), not DER.
 */
export function signJwt(
  alg: 'RS256' | 'ES256',
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  key: KeyObject,
): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ alg, typ: 'JWT', ...header })}.${encode(claims)}`;
  const signature = sign('sha256', Buffer.from(input), alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${signature.toString('base64url')}`;
}

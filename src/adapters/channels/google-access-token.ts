import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { Clock } from '../../platform/clock.js';
import { PermanentError, RetryableError } from '../../platform/resilience/errors.js';
import { httpFailure } from '../../notifier/channels/errors.js';
import { httpCall } from './http-call.js';
import { signJwt } from './jwt.js';

/** The fields of a Google service-account JSON key tny uses. */
export interface ServiceAccount {
  client_email: string;
  private_key: string;
  project_id: string;
  token_uri?: string;
}

export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';

/**
 * OAuth2 access tokens for a service account (RFC 7523 JWT bearer grant): sign an RS256 JWT
 * with the account's key, exchange it at the token URI, keep the token until shortly before it
 * expires. Concurrent callers share one exchange (singleflight), so a burst of sends after
 * expiry costs one request to the token endpoint, not one per send. `invalidate()` drops the
 * token when the API answers 401. The shared exchange runs under the first caller's signal: if
 * that caller gives up, the others fail with it and the next send starts a fresh exchange.
 */
export class GoogleAccessTokens {
  private readonly key: KeyObject;
  private readonly tokenUri: string;
  private readonly scope: string;
  private readonly marginMs: number;
  private cached: { token: string; refreshAtMs: number } | undefined;
  private inflight: Promise<string> | undefined;

  constructor(
    private readonly account: ServiceAccount,
    private readonly clock: Clock,
    options: { tokenUri?: string; scope?: string; refreshMarginMs?: number } = {},
  ) {
    this.key = createPrivateKey(account.private_key);
    this.tokenUri = options.tokenUri ?? account.token_uri ?? 'https://oauth2.googleapis.com/token';
    this.scope = options.scope ?? FCM_SCOPE;
    this.marginMs = options.refreshMarginMs ?? 5 * 60_000;
  }

  async get(signal: AbortSignal): Promise<string> {
    if (this.cached && this.clock.now() < this.cached.refreshAtMs) return this.cached.token;
    this.inflight ??= this.exchange(signal).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  private async exchange(signal: AbortSignal): Promise<string> {
    const nowS = Math.floor(this.clock.now() / 1000);
    const assertion = signJwt(
      'RS256',
      {},
      { iss: this.account.client_email, scope: this.scope, aud: this.tokenUri, iat: nowS, exp: nowS + 3600 },
      this.key,
    );
    const answer = await httpCall({
      url: this.tokenUri,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
      signal,
      what: 'The OAuth2 token endpoint',
    });
    if (answer.status !== 200) {
      // 400/401 invalid_grant: wrong key, revoked account, clock skew. Configuration, not luck.
      throw httpFailure('The OAuth2 token endpoint', answer.status, answer.headers['retry-after'], this.clock.now());
    }
    let body: { access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(answer.text) as typeof body;
    } catch {
      throw new RetryableError('The OAuth2 token endpoint answered with something that is not JSON.');
    }
    if (typeof body.access_token !== 'string') throw new PermanentError('The OAuth2 token endpoint gave no access token.');
    const lifetimeMs = (typeof body.expires_in === 'number' ? body.expires_in : 3600) * 1000;
    this.cached = { token: body.access_token, refreshAtMs: this.clock.now() + Math.max(0, lifetimeMs - this.marginMs) };
    return body.access_token;
  }
}

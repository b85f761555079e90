import { systemClock, type Clock } from '../../platform/clock.js';
import { PermanentError, RetryableError } from '../../platform/resilience/errors.js';
import { expectMessage, type Channel, type OutgoingMessage, type SendContext, type SendResult } from '../../notifier/channels/channel.js';
import { httpFailure, InvalidContactError } from '../../notifier/channels/errors.js';
import { GoogleAccessTokens, type ServiceAccount } from './google-access-token.js';
import { httpCall } from './http-call.js';

export interface FcmChannelOptions {
  serviceAccount: ServiceAccount;
  /** Default `https://fcm.googleapis.com`; tests point it at a local server. */
  endpoint?: string;
  /** Overrides the service account's `token_uri`. */
  tokenUri?: string;
  clock?: Clock;
}

/** FCM error codes (FcmError.errorCode) that say the registration token is dead. */
const DEAD_TOKEN = new Set(['UNREGISTERED', 'SENDER_ID_MISMATCH']);

interface FcmErrorBody {
  error?: { code?: number; status?: string; message?: string; details?: Array<{ '@type'?: string; errorCode?: string }> };
}

/**
 * Firebase Cloud Messaging HTTP v1: POST `{endpoint}/v1/projects/{project}/messages:send` with
 * an OAuth2 bearer token from the service account. FCM has no idempotency key; the delivery's
 * key travels in `data.tny_idempotency_key` so an app can drop a duplicate it already showed.
 * UNREGISTERED / SENDER_ID_MISMATCH → invalid contact; INVALID_ARGUMENT → permanent;
 * 401 drops the cached token and retries later; QUOTA_EXCEEDED (429), UNAVAILABLE, INTERNAL retry.
 */
export class FcmChannel implements Channel {
  readonly name = 'fcm' as const;
  private readonly clock: Clock;
  private readonly tokens: GoogleAccessTokens;
  private readonly url: string;

  constructor(options: FcmChannelOptions) {
    this.clock = options.clock ?? systemClock;
    this.tokens = new GoogleAccessTokens(options.serviceAccount, this.clock, { tokenUri: options.tokenUri });
    const base = (options.endpoint ?? 'https://fcm.googleapis.com').replace(/\/+$/, '');
    this.url = `${base}/v1/projects/${encodeURIComponent(options.serviceAccount.project_id)}/messages:send`;
  }

  async send(message: OutgoingMessage, ctx: SendContext): Promise<SendResult> {
    const msg = expectMessage(message, 'fcm');
    const token = await this.tokens.get(ctx.signal);
    const answer = await httpCall({
      url: this.url,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({
        message: {
          token: msg.token,
          notification: { title: msg.title, body: msg.body },
          data: { ...msg.data, tny_idempotency_key: ctx.idempotencyKey },
        },
      }),
      signal: ctx.signal,
      what: 'FCM',
    });
    if (answer.status === 200) {
      // Accepted; an unreadable body must not turn a sent message into a failure (and a resend).
      let name: unknown;
      try {
        name = (JSON.parse(answer.text) as { name?: unknown }).name;
      } catch {
        name = undefined;
      }
      return typeof name === 'string' ? { providerMessageId: name } : {};
    }
    let body: FcmErrorBody = {};
    try {
      body = JSON.parse(answer.text) as FcmErrorBody;
    } catch {
      // An HTML error page from a proxy: the status alone decides.
    }
    const fcmCode = body.error?.details?.find((d) => d['@type']?.endsWith('FcmError'))?.errorCode ?? body.error?.status ?? '';
    if (DEAD_TOKEN.has(fcmCode)) throw new InvalidContactError(`FCM refused the device token (${fcmCode}).`, fcmCode);
    if (answer.status === 401) {
      this.tokens.invalidate();
      throw new RetryableError('FCM refused the access token (401); a new one will be fetched.');
    }
    if (fcmCode === 'INVALID_ARGUMENT') throw new PermanentError('FCM refused the message as invalid (INVALID_ARGUMENT).');
    throw httpFailure('FCM', answer.status, answer.headers['retry-after'], this.clock.now(), fcmCode);
  }
}

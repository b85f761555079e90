import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { systemClock, type Clock } from '../../platform/clock.js';
import { PermanentError, RetryableError } from '../../platform/resilience/errors.js';
import { expectMessage, type Channel, type OutgoingMessage, type SendContext, type SendResult } from '../../notifier/channels/channel.js';
import { httpFailure, InvalidContactError, transportFailure } from '../../notifier/channels/errors.js';
import { ApnsProviderToken, uuidFromKey } from './apns-provider-token.js';

export interface ApnsChannelOptions {
  /** The .p8 key's PEM text. */
  privateKey: string;
  keyId: string;
  teamId: string;
  /** The app's bundle id. */
  topic: string;
  /** `https://api.push.apple.com` (default), `https://api.sandbox.push.apple.com`, or a test server (`http:` = h2c). */
  endpoint?: string;
  /** Extra trusted CA (PEM), for a test server with a self-signed certificate. */
  ca?: string;
  clock?: Clock;
}

/** Reasons that mean the device token will never work for this app. */
const DEAD_TOKEN = new Set(['BadDeviceToken', 'Unregistered', 'DeviceTokenNotForTopic', 'ExpiredToken']);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

/**
 * Apple Push Notification service over HTTP/2 (node:http2): one multiplexed session, reopened
 * when it closes or the server sends GOAWAY; token authentication (apns-provider-token.ts).
 * 200 is accepted; 410 and BadDeviceToken/Unregistered/DeviceTokenNotForTopic are invalid
 * contacts; ExpiredProviderToken re-signs and retries later; 429 and 5xx retry; other 4xx
 * (payload too large, bad topic, InvalidProviderToken) are permanent.
 */
export class ApnsChannel implements Channel {
  readonly name = 'apns' as const;
  private readonly clock: Clock;
  private readonly token: ApnsProviderToken;
  private readonly endpoint: string;
  private session: ClientHttp2Session | undefined;

  constructor(private readonly options: ApnsChannelOptions) {
    this.clock = options.clock ?? systemClock;
    this.token = new ApnsProviderToken(options.privateKey, options.keyId, options.teamId, this.clock);
    this.endpoint = options.endpoint ?? 'https://api.push.apple.com';
  }

  async send(message: OutgoingMessage, ctx: SendContext): Promise<SendResult> {
    const msg = expectMessage(message, 'apns');
    if (!/^[0-9a-fA-F]{16,200}$/.test(msg.deviceToken)) {
      throw new InvalidContactError('The APNs device token is not hexadecimal.', 'BadDeviceToken');
    }
    const pushType = msg.pushType ?? 'alert';
    const id = uuidFromKey(ctx.idempotencyKey);
    const aps = pushType === 'alert' ? { alert: { title: msg.title, body: msg.body } } : { 'content-available': 1 };
    const answer = await this.request(
      {
        ':method': 'POST',
        ':path': `/3/device/${msg.deviceToken}`,
        authorization: `bearer ${this.token.get()}`,
        'apns-topic': this.options.topic,
        'apns-push-type': pushType,
        'apns-id': id,
        'apns-collapse-id': id,
        'apns-priority': pushType === 'alert' ? '10' : '5',
        'content-type': 'application/json',
      },
      JSON.stringify({ ...msg.data, aps }),
      ctx.signal,
    );
    if (answer.status === 200) {
      const apnsId = answer.headers['apns-id'];
      return { providerMessageId: typeof apnsId === 'string' ? apnsId : id };
    }
    let reason = '';
    try {
      reason = String((JSON.parse(answer.body) as { reason?: unknown }).reason ?? '');
    } catch {
      // No JSON: the status decides.
    }
    if (answer.status === 410 || DEAD_TOKEN.has(reason)) {
      throw new InvalidContactError(`APNs refused the device token (${answer.status} ${reason}).`, reason || String(answer.status));
    }
    if (reason === 'ExpiredProviderToken') {
      this.token.invalidate();
      throw new RetryableError('APNs said the provider token expired; a new one will be signed.');
    }
    if (answer.status === 403) throw new PermanentError(`APNs refused the provider token (${reason}).`);
    const retryAfter = answer.headers['retry-after'];
    throw httpFailure('APNs', answer.status, typeof retryAfter === 'string' ? retryAfter : undefined, this.clock.now(), reason);
  }

  close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (!s || s.closed) return Promise.resolve();
    return new Promise((resolve) => s.close(() => resolve()));
  }

  private open(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = connect(this.endpoint, this.options.ca ? { ca: this.options.ca } : {});
    const forget = () => {
      if (this.session === session) this.session = undefined;
    };
    session.on('error', forget);
    session.on('close', forget);
    session.on('goaway', forget);
    session.unref();
    this.session = session;
    return session;
  }

  private request(headers: Record<string, string>, body: string, signal: AbortSignal): Promise<Answer> {
    if (signal.aborted) return Promise.reject(transportFailure('APNs', undefined, signal));
    return new Promise<Answer>((resolve, reject) => {
      let session: ClientHttp2Session;
      try {
        session = this.open();
      } catch (err) {
        reject(transportFailure('APNs', err, signal));
        return;
      }
      const stream = session.request(headers);
      const onAbort = () => stream.close(constants.NGHTTP2_CANCEL);
      signal.addEventListener('abort', onAbort, { once: true });
      const done = () => signal.removeEventListener('abort', onAbort);
      let status = 0;
      let responseHeaders: Answer['headers'] = {};
      const chunks: Buffer[] = [];
      stream.on('response', (h) => {
        status = Number(h[':status']);
        responseHeaders = h;
      });
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        done();
        if (status === 0) reject(transportFailure('APNs', new Error('stream ended without a response'), signal));
        else resolve({ status, headers: responseHeaders, body: Buffer.concat(chunks).toString('utf8') });
      });
      stream.on('error', (err) => {
        done();
        reject(transportFailure('APNs', err, signal));
      });
      stream.on('close', () => {
        done();
        // A no-op after 'end' resolved; otherwise the stream was reset before a full answer.
        reject(transportFailure('APNs', new Error(`stream closed (${stream.rstCode})`), signal));
      });
      stream.end(body);
    });
  }
}

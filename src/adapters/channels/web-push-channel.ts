import { createHash } from 'node:crypto';
import type { Dispatcher } from 'undici';
import webpush from 'web-push';
import { systemClock, type Clock } from '../../platform/clock.js';
import { expectMessage, type Channel, type OutgoingMessage, type SendContext, type SendResult } from '../../notifier/channels/channel.js';
import { httpFailure, InvalidContactError } from '../../notifier/channels/errors.js';
import type { SsrfGuard } from '../../notifier/channels/ssrf-guard.js';
import { headerValue, httpCall } from './http-call.js';

export interface WebPushChannelOptions {
  vapid: { subject: string; publicKey: string; privateKey: string };
  /** Subscription endpoints come from browsers, i.e. from users: they go through the guard. */
  guard: SsrfGuard;
  clock?: Clock;
  defaultTtlSeconds?: number;
}

/**
 * The Topic header for a delivery: the push service replaces a still-undelivered message with
 * the same topic (RFC 8030 §5.4), so a retry of the same delivery collapses into one on the
 * device instead of showing twice. At most 32 base64url characters.
 */
export function topicFor(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey).digest('base64url').slice(0, 32);
}

/**
 * Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291):
 * `web-push` builds the signed, encrypted request; tny sends it itself with undici, so the
 * caller's signal cancels it and the SSRF guard sees the connection. 201 is accepted; 404/410
 * mean the subscription expired or was removed (invalid contact); 413 and other 4xx are
 * permanent; 429/5xx retry.
 */
export class WebPushChannel implements Channel {
  readonly name = 'web_push' as const;
  private readonly clock: Clock;
  private readonly dispatcher: Dispatcher;

  constructor(private readonly options: WebPushChannelOptions) {
    this.clock = options.clock ?? systemClock;
    this.dispatcher = options.guard.dispatcher({ connections: 16 });
  }

  async send(message: OutgoingMessage, ctx: SendContext): Promise<SendResult> {
    const msg = expectMessage(message, 'web_push');
    let details: ReturnType<typeof webpush.generateRequestDetails>;
    let url: URL;
    try {
      details = webpush.generateRequestDetails(msg.subscription, JSON.stringify(msg.payload), {
        vapidDetails: this.options.vapid,
        TTL: msg.ttlSeconds ?? this.options.defaultTtlSeconds ?? 86_400,
        urgency: msg.urgency ?? 'normal',
        topic: topicFor(ctx.idempotencyKey),
        contentEncoding: 'aes128gcm',
      });
      url = new URL(details.endpoint);
    } catch (err) {
      // web-push validates the subscription (endpoint, p256dh, auth); a bad one will never work.
      throw new InvalidContactError('The push subscription is not usable.', 'bad-subscription', { cause: safeCause(err) });
    }
    this.options.guard.checkUrl(url);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(details.headers)) headers[k.toLowerCase()] = String(v);
    const what = `The push service ${url.host}`;
    const answer = await httpCall({
      url: url.href,
      headers,
      body: details.body ?? undefined,
      signal: ctx.signal,
      dispatcher: this.dispatcher,
      what,
      maxAnswerBytes: 4096,
    });
    if (answer.status >= 200 && answer.status < 300) {
      const location = headerValue(answer.headers, 'location');
      return location ? { providerMessageId: location } : {};
    }
    if (answer.status === 404 || answer.status === 410) {
      throw new InvalidContactError(`${what} answered ${answer.status}: the subscription is gone.`, String(answer.status));
    }
    throw httpFailure(what, answer.status, answer.headers['retry-after'], this.clock.now());
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

/** web-push's validation errors carry no secrets, but keep only the message to be sure. */
function safeCause(err: unknown): Error {
  return new Error(err instanceof Error ? err.message : 'invalid subscription');
}

import type { Dispatcher } from 'undici';
import { systemClock, type Clock } from '../../platform/clock.js';
import { PermanentError } from '../../platform/resilience/errors.js';
import { expectMessage, type Channel, type OutgoingMessage, type SendContext, type SendResult } from '../../notifier/channels/channel.js';
import { httpFailure, InvalidContactError } from '../../notifier/channels/errors.js';
import type { SsrfGuard } from '../../notifier/channels/ssrf-guard.js';
import { signWebhook } from '../../notifier/channels/webhook-signature.js';
import { httpCall } from './http-call.js';

export interface WebhookChannelOptions {
  /** Default signing secret (`whsec_…`); a message may carry its endpoint's own. */
  secret: string | undefined;
  guard: SsrfGuard;
  clock?: Clock;
  userAgent?: string;
}

/**
 * Webhooks the Standard Webhooks way: POST of `{type, timestamp, data}` as JSON with
 * `webhook-id` = the idempotency key (receivers dedupe on it; it is the same on every retry),
 * `webhook-timestamp` and `webhook-signature`. Every connection goes through the SSRF guard.
 * 2xx is delivered; 410 means the receiver retired the endpoint (invalid contact); 408/429/5xx
 * are retried; redirects and other 4xx are permanent.
 */
export class WebhookChannel implements Channel {
  readonly name = 'webhook' as const;
  private readonly clock: Clock;
  private readonly dispatcher: Dispatcher;

  constructor(private readonly options: WebhookChannelOptions) {
    this.clock = options.clock ?? systemClock;
    this.dispatcher = options.guard.dispatcher({ connections: 16 });
  }

  async send(message: OutgoingMessage, ctx: SendContext): Promise<SendResult> {
    const msg = expectMessage(message, 'webhook');
    const secret = msg.secret ?? this.options.secret;
    if (!secret) throw new PermanentError('No webhook signing secret is configured (NOTIFY_WEBHOOK_SECRET).');
    let url: URL;
    try {
      url = new URL(msg.url);
    } catch {
      throw new InvalidContactError('The webhook URL is not a URL.', 'bad-url');
    }
    this.options.guard.checkUrl(url);
    const nowMs = this.clock.now();
    const body = JSON.stringify({ type: msg.type, timestamp: new Date(nowMs).toISOString(), data: msg.data });
    const answer = await httpCall({
      url: url.href,
      headers: {
        'content-type': 'application/json',
        'user-agent': this.options.userAgent ?? 'tny-webhooks/1',
        ...signWebhook(secret, ctx.idempotencyKey, nowMs / 1000, body),
      },
      body,
      signal: ctx.signal,
      dispatcher: this.dispatcher,
      what: `The webhook receiver ${url.host}`,
      maxAnswerBytes: 1024,
    });
    if (answer.status >= 200 && answer.status < 300) return { providerMessageId: ctx.idempotencyKey };
    if (answer.status === 410) throw new InvalidContactError(`The webhook receiver ${url.host} answered 410 Gone.`, '410');
    throw httpFailure(`The webhook receiver ${url.host}`, answer.status, answer.headers['retry-after'], nowMs);
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

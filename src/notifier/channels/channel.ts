import { PermanentError } from '../../platform/resilience/errors.js';
import type { ChannelName } from '../channel-names.js';

/**
 * The `Channel` port: the one method the notifier calls to hand a rendered message to a
 * provider. Adapters (src/adapters/channels/) speak the real protocols; the notifier never sees
 * a driver's types. The message is a discriminated union on `channel`, so an adapter gets
 * exactly the fields its protocol needs and a wrong pairing fails to type-check.
 *
 * Failures are classified by the adapter, because only it knows the protocol: it throws
 * `RetryableError` (5xx, 429 with Retry-After, timeouts, connection errors), `PermanentError`
 * (other 4xx, bad configuration) or `InvalidContactError` (the contact point itself is dead:
 * unknown mailbox, unregistered device token, 404/410 push subscription), see errors.ts.
 */

export interface EmailMessage {
  channel: 'email';
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Overrides the configured sender. */
  from?: string;
}

export interface SmsMessage {
  channel: 'sms';
  /** E.164, e.g. +15551234567. */
  to: string;
  body: string;
}

/** A browser's PushSubscription as JSON (`subscription.toJSON()`). */
export interface WebPushSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface WebPushMessage {
  channel: 'web_push';
  subscription: WebPushSubscription;
  /** Encrypted for the browser; the service worker reads it as JSON. */
  payload: Record<string, unknown>;
  /** How long the push service may hold the message for an offline browser (default 24 h). */
  ttlSeconds?: number;
  urgency?: 'very-low' | 'low' | 'normal' | 'high';
}

export interface FcmMessage {
  channel: 'fcm';
  token: string;
  title: string;
  body: string;
  /** FCM data values must be strings. */
  data?: Record<string, string>;
}

export interface ApnsMessage {
  channel: 'apns';
  deviceToken: string;
  title: string;
  body: string;
  /** Custom keys next to `aps`. */
  data?: Record<string, unknown>;
  /** `alert` (default) shows a banner; `background` wakes the app silently. */
  pushType?: 'alert' | 'background';
}

export interface WebhookMessage {
  channel: 'webhook';
  url: string;
  /** Event type, e.g. `notification.security`; goes into the JSON body. */
  type: string;
  data: Record<string, unknown>;
  /** Per-endpoint signing secret; the configured one when absent. */
  secret?: string;
}

export interface InAppMessage {
  channel: 'in_app';
  /** Recipient ids are unique per account only, so the inbox needs the owner too. */
  accountId: number;
  recipientId: string;
  title: string;
  body: string;
  data?: Record<string, unknown>;
}

/** What the console channel prints (development); any other message may be sent to it too. */
export interface ConsoleMessage {
  channel: 'console';
  recipientId: string;
  title: string;
  body: string;
}

export type OutgoingMessage =
  | EmailMessage
  | SmsMessage
  | WebPushMessage
  | FcmMessage
  | ApnsMessage
  | WebhookMessage
  | InAppMessage
  | ConsoleMessage;

export interface SendContext {
  /**
   * Stable across retries of the same delivery (the ledger id). Passed to the provider where
   * the protocol has a slot for it (webhook-id, SMTP Message-ID, apns-id) so a duplicate can
   * be recognised downstream.
   */
  idempotencyKey: string;
  /** Aborted by the caller's timeout policy; every provider call honours it. */
  signal: AbortSignal;
}

export interface SendResult {
  /** The provider's id for the accepted message, when it returns one. */
  providerMessageId?: string;
}

export interface Channel {
  readonly name: ChannelName;
  send(message: OutgoingMessage, ctx: SendContext): Promise<SendResult>;
}

/** Narrows a message to the adapter's own kind, or fails permanently (a wiring bug). */
export function expectMessage<K extends OutgoingMessage['channel']>(
  message: OutgoingMessage,
  channel: K,
): Extract<OutgoingMessage, { channel: K }> {
  if (message.channel !== channel) {
    throw new WrongChannelError(channel, message.channel);
  }
  return message as Extract<OutgoingMessage, { channel: K }>;
}

/** A message of one kind was handed to another kind's adapter. */
export class WrongChannelError extends PermanentError {
  constructor(expected: string, got: string) {
    super(`The ${expected} channel cannot send a ${got} message.`);
    this.name = 'WrongChannelError';
  }
}

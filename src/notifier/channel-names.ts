/**
 * The delivery channels tny knows, and which kind of contact point each one needs. The
 * channel adapters (src/notifier/channels/) implement them; this module only decides.
 * `in_app` and `console` need no contact point: the recipient's existence is enough.
 */
export const CHANNELS = ['email', 'sms', 'web_push', 'fcm', 'apns', 'webhook', 'in_app', 'console'] as const;
export type ChannelName = (typeof CHANNELS)[number];

export const CONTACT_KINDS = ['email', 'phone', 'web_push', 'fcm', 'apns', 'webhook'] as const;
export type ContactKind = (typeof CONTACT_KINDS)[number];

/** The contact kind a channel delivers to; null when it needs none. */
export const CONTACT_FOR_CHANNEL: Readonly<Record<ChannelName, ContactKind | null>> = {
  email: 'email',
  sms: 'phone',
  web_push: 'web_push',
  fcm: 'fcm',
  apns: 'apns',
  webhook: 'webhook',
  in_app: null,
  console: null,
};

export function isChannel(value: string): value is ChannelName {
  return (CHANNELS as readonly string[]).includes(value);
}

export function isContactKind(value: string): value is ContactKind {
  return (CONTACT_KINDS as readonly string[]).includes(value);
}

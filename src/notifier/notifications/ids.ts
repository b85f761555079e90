import { randomBytes } from 'node:crypto';
import type { ChannelName } from '../channel-names.js';

/**
 * `ntf_` + 9 base-36 digits of the creation time + 12 random base-32 characters: ids sort by
 * creation time (newest-first lists page by id), and cannot be guessed.
 */
export function newNotificationId(now: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const random = [...randomBytes(12)].map((b) => alphabet[b & 31]).join('');
  return `ntf_${now.toString(36).padStart(9, '0')}${random}`;
}

/**
 * The ledger id of (notification, channel): deterministic, so enqueueing it again (repair after
 * a crash, a fallback queued twice) dedupes on it, and it is the provider's idempotency key.
 */
export function deliveryId(notificationId: string, channel: ChannelName): string {
  return `${notificationId}.${channel}`;
}

/** The queue a channel's deliveries go through. */
export function queueFor(channel: ChannelName): string {
  return `notify.${channel}`;
}

import { randomBytes } from 'node:crypto';
import { murmur3_32String } from '../../platform/hashing/murmur3.js';
import type { ChannelName } from '../channel-names.js';

/**
 * The recipient's position on the shard ring (ADR 10): murmur3 of `${accountId}:${recipientId}`
 * with the ring's seed (0), so `ring.lookupHash(recipientRoute(a, r))` is the owner of the
 * routing key. Every per-recipient row (recipient, contact points, preferences, notifications,
 * deliveries, inbox) lives on that owner.
 */
export function recipientRoute(accountId: number, recipientId: string): number {
  return murmur3_32String(`${accountId}:${recipientId}`, 0);
}

/** Digits of the time part (base 36: enough until the year 5188). */
const TIME_DIGITS = 9;
/** Digits of the route part: a 32-bit ring position in base 32 (0-9a-v). */
const ROUTE_DIGITS = 7;
const RANDOM_DIGITS = 10;
/**
 * `ntf_` + time + route + random. Ids minted before routing existed (`ntf_` + 9 time + 12
 * random, 25 characters) never match: their length differs.
 */
const ROUTED = /^ntf_[0-9a-z]{9}([0-9a-v]{7})[0-9a-z]{10}$/;

/** The route part of an id: the recipient's ring position as 7 base-32 digits. */
export function routeDigits(route: number): string {
  return (route >>> 0).toString(32).padStart(ROUTE_DIGITS, '0');
}

/**
 * `ntf_` + 9 base-36 digits of the creation time + the recipient's ring position (7 base-32
 * digits) + 10 random base-32 characters. Ids sort by creation time (newest-first lists page by
 * id) and cannot be guessed; the route part lets everything addressed by a notification or
 * delivery id find its shard without a lookup (routeOfNotificationId). It is a ring position,
 * not a shard number, so it stays right when shards are added.
 */
export function newNotificationId(now: number, route: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const random = [...randomBytes(RANDOM_DIGITS)].map((b) => alphabet[b & 31]).join('');
  return `ntf_${now.toString(36).padStart(TIME_DIGITS, '0')}${routeDigits(route)}${random}`;
}

/**
 * The ring position carried by a notification id, or by a delivery id (`<notification>.<channel>`);
 * undefined for ids without one (minted before routing existed, or not tny's): those live on
 * the home shard.
 */
export function routeOfNotificationId(id: string): number | undefined {
  const dot = id.indexOf('.');
  const match = ROUTED.exec(dot === -1 ? id : id.slice(0, dot));
  return match ? Number.parseInt(match[1]!, 32) : undefined;
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

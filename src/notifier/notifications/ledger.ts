import type { ChannelName } from '../channel-names.js';
import type { OutgoingMessage } from '../channels/channel.js';
import type { SuppressionReason } from '../decide-delivery.js';

/**
 * The delivery ledger: one row per (notification, channel). Its id is the idempotency key the
 * channel hands to the provider (webhook-id, SMTP Message-ID, apns-id), so a resend after a
 * crash carries the same key downstream.
 *
 * State machine of a row:
 *   pending ──claim──▶ sending ──markSent──▶ sent
 *                        │ └──release (retryable)──▶ pending
 *                        └──fail (permanent / last attempt)──▶ failed | dead
 *   suppressed (decided at accept time; never queued)
 * A `sending` row whose claim is older than the lease can be claimed again: that is the one
 * duplicate window (the provider accepted, the process died before `sent` was written).
 */
export type DeliveryStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'dead' | 'suppressed';

export interface LogEntry {
  at: number;
  event: string;
  detail?: string;
}

export interface Delivery {
  id: string;
  notificationId: string;
  accountId: number;
  channel: ChannelName;
  status: DeliveryStatus;
  reason: SuppressionReason | null;
  contactId: number | null;
  message: OutgoingMessage | null;
  runAt: number;
  attempts: number;
  providerMessageId: string | null;
  lastError: string | null;
  log: LogEntry[];
  createdAt: number;
  updatedAt: number;
}

export type Priority = 'high' | 'normal' | 'low';

export interface Notification {
  id: string;
  accountId: number;
  recipientId: string;
  category: string;
  template: string;
  data: Record<string, unknown>;
  priority: Priority;
  sendAt: number | null;
  createdAt: number;
  /**
   * The caller's idempotency key, the hash of the input it came with and until when it replays:
   * written with the notification, so "accepted" and "this key is used" commit together.
   */
  idempotency?: { key: string; requestHash: string; expiresAt: number };
  /** The accept answer's channels, in its order (a replay is rebuilt from the ledger rows in this order). */
  channels?: ChannelName[];
}

export type NewDelivery = Omit<Delivery, 'attempts' | 'providerMessageId' | 'lastError' | 'updatedAt'>;

/** What `create` did: wrote it, rolled back over the frequency cap, or found the idempotency key taken. */
export type CreateResult = 'created' | 'capped' | { kind: 'exists'; notificationId: string };

/** What `claim` found. */
export type ClaimResult =
  | { kind: 'claimed'; delivery: Delivery }
  | { kind: 'sent' }
  | { kind: 'busy' }
  | { kind: 'final'; status: DeliveryStatus }
  | { kind: 'missing' };

export interface DeliveryLedger {
  /**
   * Writes the notification and its delivery rows in one transaction. With `cap`, the
   * frequency cap is enforced atomically: after the insert, in the same transaction and under a
   * lock per (account, recipient, category), the sends in the window are counted (this one
   * included); more than `cap.count` rolls everything back and returns 'capped'. With
   * `notification.idempotency`, a notification of that account already holding the key (one
   * whose key expired is cleared first) makes it write nothing and return that one's id.
   */
  create(notification: Notification, deliveries: readonly NewDelivery[], cap?: { count: number; since: number }): Promise<CreateResult>;
  /**
   * The notification whose idempotency key (per account) is `key` and still replays at `now`.
   * With `create`, the second half of idempotent accept: a retry finds what the first one wrote.
   */
  findByIdempotencyKey(accountId: number, key: string, now: number): Promise<{ notification: Notification; deliveries: Delivery[] } | undefined>;
  /** Sends of (recipient, category) since `since`: notifications with a delivery that was not suppressed. */
  countSince(accountId: number, recipientId: string, category: string, since: number): Promise<number>;
  /** Adds a delivery (a fallback channel) to an existing notification. */
  addDelivery(delivery: NewDelivery): Promise<void>;
  /** pending (or sending with a claim older than `leaseMs`) → sending under `token`. */
  claim(id: string, token: string, now: number, leaseMs: number): Promise<ClaimResult>;
  markSent(id: string, token: string, providerMessageId: string | null, now: number): Promise<boolean>;
  /** sending → pending (retry later) or a final state, with the error logged. */
  release(id: string, token: string, to: 'pending' | 'failed' | 'dead', error: string, now: number): Promise<boolean>;
  /** A dead or failed row back to pending (retry from the API). */
  revive(accountId: number, id: string, now: number): Promise<Delivery | undefined>;
  appendLog(id: string, entry: LogEntry): Promise<void>;
  findNotification(accountId: number, id: string): Promise<{ notification: Notification; deliveries: Delivery[] } | undefined>;
  findDelivery(id: string): Promise<Delivery | undefined>;
  /** Notification (by id) of a delivery. */
  notificationOf(delivery: Pick<Delivery, 'notificationId'>): Promise<Notification | undefined>;
  /** Priorities of many notifications in one query (re-queueing a page of unfinished rows). */
  priorities(notificationIds: readonly string[]): Promise<Map<string, Priority>>;
  /** Rows still to send (pending, or sending from a claim that may be dead), oldest first, after `after`. */
  listUnfinished(after: string | null, limit: number): Promise<Delivery[]>;
  listByStatus(accountId: number, status: DeliveryStatus, after: string | null, limit: number): Promise<Delivery[]>;
  /** Newest first; `status`: only notifications with a delivery in that status. */
  listNotifications(accountId: number, query: { recipientId?: string; status?: DeliveryStatus; after: string | null; limit: number }): Promise<Notification[]>;
}

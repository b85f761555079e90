import type { RecipientRepository } from '../ports.js';
import type { Clock } from '../../platform/clock.js';
import type { InboxHub } from './inbox-hub.js';

/**
 * A stored in-app message. The id is the table's auto-increment, so it grows with insertion
 * order: the inbox pages newest first by it and the live stream uses it as the SSE event id,
 * which makes "everything after Last-Event-ID" one indexed range query.
 */
export interface InboxMessage {
  id: number;
  accountId: number;
  recipientId: string;
  title: string;
  body: string;
  data: Record<string, unknown> | null;
  createdAt: number;
  /** null while unread. */
  readAt: number | null;
}

export interface NewInboxMessage {
  accountId: number;
  recipientId: string;
  /** The delivery's ledger id: one stored message per (account, key), however often it is sent. */
  idempotencyKey: string;
  title: string;
  body: string;
  data: Record<string, unknown> | null;
  now: number;
}

/** Storage of inbox messages; every method is scoped by account and recipient. */
export interface InboxRepository {
  /**
   * Inserts once per (account, idempotency key); a repeat returns the stored row with
   * `created: false`. Undefined when the recipient does not exist.
   */
  insert(message: NewInboxMessage): Promise<{ message: InboxMessage; created: boolean } | undefined>;
  /** Newest first: ids below `before` (all when null), at most `limit`. */
  list(accountId: number, recipientId: string, query: { before: number | null; limit: number; unreadOnly: boolean }): Promise<InboxMessage[]>;
  /** Oldest first: ids above `afterId`, at most `limit` (the stream's replay). */
  since(accountId: number, recipientId: string, afterId: number, limit: number): Promise<InboxMessage[]>;
  /**
   * Marks read at `readAt` (an already read message keeps its first read time) or, with null,
   * unread; undefined when the message is not this recipient's.
   */
  setRead(accountId: number, recipientId: string, id: number, readAt: number | null): Promise<InboxMessage | undefined>;
  unreadCount(accountId: number, recipientId: string): Promise<number>;
}

/** What the inbox use cases and the stream need. */
export interface InboxContext {
  recipients: RecipientRepository;
  inbox: InboxRepository;
  hub: InboxHub;
  clock: Clock;
}

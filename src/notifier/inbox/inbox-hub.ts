import type { InboxMessage } from './inbox.js';

export type InboxListener = (message: InboxMessage) => void;

export interface Subscription {
  /** Idempotent. */
  unsubscribe(): void;
}

/** Subscribers per recipient by default: a few tabs and devices, not an unbounded fan-out. */
export const DEFAULT_MAX_SUBSCRIBERS_PER_RECIPIENT = 8;

/**
 * In-process publish/subscribe of new inbox messages, keyed by (account, recipient). Enough
 * for the embedded default, where the process that stores a message also serves its streams.
 * With several api/worker processes a message stored by a worker must reach streams held by
 * api processes: RedisInboxHub (src/adapters/redis/redis-inbox-hub.ts, used with REDIS_URL)
 * relays it over Redis pub/sub. A client that missed something (pub/sub is at-most-once)
 * reconnects with Last-Event-ID and gets it from the database.
 *
 * Subscribers per recipient are bounded, so one recipient id cannot hold unbounded sockets and
 * memory. A listener that throws is removed and does not stop delivery to the others.
 */
export class InboxHub {
  private readonly listeners = new Map<string, Set<InboxListener>>();

  constructor(private readonly maxPerRecipient = DEFAULT_MAX_SUBSCRIBERS_PER_RECIPIENT) {}

  /** `'full'` when the recipient already has the maximum number of subscribers. */
  subscribe(accountId: number, recipientId: string, listener: InboxListener): Subscription | 'full' {
    const k = key(accountId, recipientId);
    let set = this.listeners.get(k);
    if (set && set.size >= this.maxPerRecipient) return 'full';
    if (!set) this.listeners.set(k, (set = new Set()));
    const own = set;
    // A wrapper per subscription, so the same function subscribed twice counts twice.
    const entry: InboxListener = (m) => listener(m);
    own.add(entry);
    return {
      unsubscribe: () => {
        own.delete(entry);
        if (own.size === 0 && this.listeners.get(k) === own) this.listeners.delete(k);
      },
    };
  }

  publish(message: InboxMessage): void {
    const set = this.listeners.get(key(message.accountId, message.recipientId));
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(message);
      } catch {
        set.delete(listener);
      }
    }
  }

  subscriberCount(accountId: number, recipientId: string): number {
    return this.listeners.get(key(accountId, recipientId))?.size ?? 0;
  }
}

function key(accountId: number, recipientId: string): string {
  return `${accountId}\u0000${recipientId}`;
}

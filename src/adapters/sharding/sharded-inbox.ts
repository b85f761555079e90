import type { InboxMessage, InboxRepository, NewInboxMessage } from '../../notifier/inbox/inbox.js';
import { KyselyInbox } from '../sql/kysely-inbox.js';
import { recipientShard } from './notifier-routing.js';
import type { Shard, ShardSet } from './shard-set.js';

/**
 * In-app messages on their recipient's shard (ADR 10). Every method is scoped by (account,
 * recipient), so each goes to one shard. A message id is its shard's auto-increment: unique and
 * growing within one recipient's messages (all on one shard), which is all the inbox pages and
 * the stream's Last-Event-ID need, but two recipients on different shards can hold the same
 * number, so an id alone never names a message: the routes always carry the recipient. The
 * idempotency key (the delivery id) is one recipient's, so its unique index on the shard is enough.
 */
export class ShardedInbox implements InboxRepository {
  private readonly inboxes: Map<string, InboxRepository>;

  constructor(
    private readonly set: ShardSet,
    inboxFor: (shard: Shard) => InboxRepository = (s) => new KyselyInbox(s.database.db),
  ) {
    this.inboxes = new Map(set.shards.map((s) => [s.name, inboxFor(s)]));
  }

  private of(accountId: number, recipientId: string): InboxRepository {
    return this.inboxes.get(recipientShard(this.set, accountId, recipientId).name)!;
  }

  insert(m: NewInboxMessage): Promise<{ message: InboxMessage; created: boolean } | undefined> {
    return this.of(m.accountId, m.recipientId).insert(m);
  }

  list(accountId: number, recipientId: string, query: { before: number | null; limit: number; unreadOnly: boolean }): Promise<InboxMessage[]> {
    return this.of(accountId, recipientId).list(accountId, recipientId, query);
  }

  since(accountId: number, recipientId: string, afterId: number, limit: number): Promise<InboxMessage[]> {
    return this.of(accountId, recipientId).since(accountId, recipientId, afterId, limit);
  }

  setRead(accountId: number, recipientId: string, id: number, readAt: number | null): Promise<InboxMessage | undefined> {
    return this.of(accountId, recipientId).setRead(accountId, recipientId, id, readAt);
  }

  unreadCount(accountId: number, recipientId: string): Promise<number> {
    return this.of(accountId, recipientId).unreadCount(accountId, recipientId);
  }
}

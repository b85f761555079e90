import { recipientRoute, routeOfNotificationId } from '../../notifier/notifications/ids.js';
import type {
  ClaimResult,
  CreateResult,
  Delivery,
  DeliveryLedger,
  DeliveryStatus,
  LogEntry,
  NewDelivery,
  Notification,
  Priority,
} from '../../notifier/notifications/ledger.js';
import { KyselyDeliveryLedger } from '../sql/kysely-delivery-ledger.js';
import { groupByShard, mergeByKey, notificationShard, recipientShard } from './notifier-routing.js';
import type { Shard, ShardSet } from './shard-set.js';

/**
 * The delivery ledger over a ShardSet (ADR 10). A notification and its delivery rows live on the
 * shard of the ring position in the notification's id, which send.ts mints from the recipient:
 * so everything the queue and the workers address by a delivery id (claim, markSent, release,
 * findDelivery…) goes to one shard without a lookup, and the frequency cap (countSince, and the
 * capped create) counts one recipient's rows on that same shard, atomically as on one database.
 * Lists across the account (notifications, deliveries by status, unfinished rows) scatter to
 * every shard with the same cursor and limit and merge by id, their sort key. A batch send
 * creates each item on its own shard, the items running concurrently (send.ts).
 */
export class ShardedDeliveryLedger implements DeliveryLedger {
  private readonly ledgers: Map<string, DeliveryLedger>;

  constructor(
    private readonly set: ShardSet,
    ledgerFor: (shard: Shard) => DeliveryLedger = (s) => new KyselyDeliveryLedger(s.database.db, s.database.dialect),
  ) {
    this.ledgers = new Map(set.shards.map((s) => [s.name, ledgerFor(s)]));
  }

  private on(shard: Shard): DeliveryLedger {
    return this.ledgers.get(shard.name)!;
  }

  /** The ledger of a notification id or a delivery id. */
  private byId(id: string): DeliveryLedger {
    return this.on(notificationShard(this.set, id));
  }

  private all<T>(run: (ledger: DeliveryLedger) => Promise<T>): Promise<T[]> {
    return Promise.all(this.set.shards.map((s) => run(this.on(s))));
  }

  /**
   * On the id's shard. The id must carry its recipient's ring position: a notification stored
   * elsewhere than its recipient's other rows would escape the cap's count and the recipient's
   * list, so a mismatch is a bug and is refused before anything is written.
   */
  async create(n: Notification, deliveries: readonly NewDelivery[], cap?: { count: number; since: number }): Promise<CreateResult> {
    const route = routeOfNotificationId(n.id);
    if (route !== recipientRoute(n.accountId, n.recipientId)) {
      throw new Error(`notification id ${n.id} does not carry the ring position of recipient ${n.accountId}:${n.recipientId} (mint it with newNotificationId)`);
    }
    const stray = deliveries.find((d) => d.notificationId !== n.id);
    if (stray) throw new Error(`delivery ${stray.id} belongs to ${stray.notificationId}, not ${n.id}`);
    return this.byId(n.id).create(n, deliveries, cap);
  }

  /**
   * Scatters: a key is unique per account, not per recipient, and a lookup that only asked the
   * request's recipient's shard would miss the key held for another recipient (the same key
   * with another input must be refused). The earliest holder answers if, through a race of
   * two first requests with the same key and different recipients, two shards hold it.
   */
  async findByIdempotencyKey(accountId: number, key: string, now: number): Promise<{ notification: Notification; deliveries: Delivery[] } | undefined> {
    const found = (await this.all((l) => l.findByIdempotencyKey(accountId, key, now))).filter((f) => f !== undefined);
    return found.sort((a, b) => (a.notification.id < b.notification.id ? -1 : 1))[0];
  }

  countSince(accountId: number, recipientId: string, category: string, since: number): Promise<number> {
    return this.on(recipientShard(this.set, accountId, recipientId)).countSince(accountId, recipientId, category, since);
  }

  addDelivery(delivery: NewDelivery): Promise<void> {
    return this.byId(delivery.notificationId).addDelivery(delivery);
  }

  claim(id: string, token: string, now: number, leaseMs: number): Promise<ClaimResult> {
    return this.byId(id).claim(id, token, now, leaseMs);
  }

  markSent(id: string, token: string, providerMessageId: string | null, now: number): Promise<boolean> {
    return this.byId(id).markSent(id, token, providerMessageId, now);
  }

  release(id: string, token: string, to: 'pending' | 'failed' | 'dead', error: string, now: number): Promise<boolean> {
    return this.byId(id).release(id, token, to, error, now);
  }

  revive(accountId: number, id: string, now: number): Promise<Delivery | undefined> {
    return this.byId(id).revive(accountId, id, now);
  }

  appendLog(id: string, entry: LogEntry): Promise<void> {
    return this.byId(id).appendLog(id, entry);
  }

  findNotification(accountId: number, id: string): Promise<{ notification: Notification; deliveries: Delivery[] } | undefined> {
    return this.byId(id).findNotification(accountId, id);
  }

  findDelivery(id: string): Promise<Delivery | undefined> {
    return this.byId(id).findDelivery(id);
  }

  notificationOf(delivery: Pick<Delivery, 'notificationId'>): Promise<Notification | undefined> {
    return this.byId(delivery.notificationId).notificationOf(delivery);
  }

  /** One query per shard holding some of the notifications, concurrently. */
  async priorities(notificationIds: readonly string[]): Promise<Map<string, Priority>> {
    const groups = groupByShard(new Set(notificationIds), (id) => notificationShard(this.set, id));
    const parts = await Promise.all([...groups].map(([shard, ids]) => this.on(shard).priorities(ids)));
    return new Map(parts.flatMap((m) => [...m]));
  }

  async listUnfinished(after: string | null, limit: number): Promise<Delivery[]> {
    return mergeByKey(await this.all((l) => l.listUnfinished(after, limit)), (d) => d.id, 'asc', limit);
  }

  async listByStatus(accountId: number, status: DeliveryStatus, after: string | null, limit: number): Promise<Delivery[]> {
    return mergeByKey(await this.all((l) => l.listByStatus(accountId, status, after, limit)), (d) => d.id, 'asc', limit);
  }

  /** With a recipient: its shard alone. Without: every shard, merged newest first by id. */
  async listNotifications(
    accountId: number,
    query: { recipientId?: string; status?: DeliveryStatus; after: string | null; limit: number },
  ): Promise<Notification[]> {
    if (query.recipientId !== undefined) return this.on(recipientShard(this.set, accountId, query.recipientId)).listNotifications(accountId, query);
    return mergeByKey(await this.all((l) => l.listNotifications(accountId, query)), (n) => n.id, 'desc', query.limit);
  }
}

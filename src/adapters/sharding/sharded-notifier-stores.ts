import type { ContactPointRepository, NotifierStores, PreferenceRepository, RecipientRepository } from '../../notifier/ports.js';
import type { ContactPoint, NewContactPoint, NewRecipient, Recipient } from '../../notifier/recipient.js';
import type { Preferences } from '../../notifier/preferences.js';
import { recipientRoute } from '../../notifier/notifications/ids.js';
import { TnyError } from '../../platform/errors.js';
import { kyselyNotifierStores } from '../sql/kysely-notifier-stores.js';
import { groupByShard, mergeByKey, recipientShard } from './notifier-routing.js';
import type { Shard, ShardSet } from './shard-set.js';

/** Per-shard stores and the recipient routing the three sharded repositories share. */
class Shards {
  private readonly byName: Map<string, NotifierStores>;
  constructor(
    readonly set: ShardSet,
    storesFor: (shard: Shard) => NotifierStores,
  ) {
    this.byName = new Map(set.shards.map((s) => [s.name, storesFor(s)]));
  }
  on(shard: Shard): NotifierStores {
    return this.byName.get(shard.name)!;
  }
  of(accountId: number, recipientId: string): NotifierStores {
    return this.on(recipientShard(this.set, accountId, recipientId));
  }
}

/**
 * Recipients on their ring owner (`${accountId}:${recipientId}`). One recipient's operations
 * go to its shard alone, so its id is unique where it is unique in that shard (as link keys).
 * The account's list scatters and merges in byte order of the id.
 */
class ShardedRecipients implements RecipientRepository {
  constructor(private readonly shards: Shards) {}

  insert(r: NewRecipient): Promise<Recipient | 'conflict'> {
    return this.create(r, (shard) => shard.recipients.insert(r));
  }

  /** Still one transaction: the contact points live on the recipient's shard. */
  insertWithContacts(r: NewRecipient, contacts: readonly Pick<ContactPoint, 'kind' | 'address' | 'keys'>[]) {
    return this.create(r, (shard) => shard.recipients.insertWithContacts(r, contacts));
  }

  /**
   * `tny shards add` does not move notifier data (ADR 10): it starts only when no shard holds
   * any, and checks again once every process routes by the migrating epoch. A recipient created
   * meanwhile whose shard changes would be left on its old shard, hidden, when the move ends, so
   * its creation is refused (503, retryable) until then. Run under the epoch it was routed by
   * (ShardSet.routed), so the mover's wait for every process covers a create still in flight.
   */
  private create<T>(r: NewRecipient, insert: (shard: NotifierStores) => Promise<T>): Promise<T> {
    return this.shards.set.routed(() => {
      if (this.shards.set.candidatesForHash(recipientRoute(r.accountId, r.id)).length > 1) {
        throw new TnyError('SHARDS_CHANGING', {
          message: `recipient "${r.id}" cannot be created while a shard is being added (tny shards add): its shard changes and notifier data is not moved yet; try again when it has finished`,
        });
      }
      return insert(this.shards.of(r.accountId, r.id));
    });
  }

  find(accountId: number, id: string): Promise<Recipient | undefined> {
    return this.shards.of(accountId, id).recipients.find(accountId, id);
  }

  update(accountId: number, id: string, changes: { locale?: string; timeZone?: string; updatedAt: number }): Promise<Recipient | undefined> {
    return this.shards.of(accountId, id).recipients.update(accountId, id, changes);
  }

  /** Its contact points, preferences and inbox are on the same shard: the cascade stays one statement. */
  delete(accountId: number, id: string): Promise<boolean> {
    return this.shards.of(accountId, id).recipients.delete(accountId, id);
  }

  async list(accountId: number, after: string | null, limit: number): Promise<Recipient[]> {
    const pages = await Promise.all(this.shards.set.shards.map((s) => this.shards.on(s).recipients.list(accountId, after, limit)));
    return mergeByKey(pages, (r) => r.id, 'asc', limit);
  }
}

/** Contact points on their recipient's shard; every method names the recipient. */
class ShardedContactPoints implements ContactPointRepository {
  constructor(private readonly shards: Shards) {}

  add(c: NewContactPoint): Promise<ContactPoint | 'conflict' | undefined> {
    return this.shards.of(c.accountId, c.recipientId).contacts.add(c);
  }

  list(accountId: number, recipientId: string): Promise<ContactPoint[]> {
    return this.shards.of(accountId, recipientId).contacts.list(accountId, recipientId);
  }

  /** One query per shard holding some of the recipients, concurrently. */
  async listMany(accountId: number, recipientIds: readonly string[]): Promise<Map<string, ContactPoint[]>> {
    const groups = groupByShard(new Set(recipientIds), (id) => recipientShard(this.shards.set, accountId, id));
    const parts = await Promise.all([...groups].map(([shard, ids]) => this.shards.on(shard).contacts.listMany(accountId, ids)));
    return new Map(parts.flatMap((m) => [...m]));
  }

  setValid(accountId: number, recipientId: string, contactId: number, valid: boolean, now: number): Promise<ContactPoint | undefined> {
    return this.shards.of(accountId, recipientId).contacts.setValid(accountId, recipientId, contactId, valid, now);
  }

  markInvalid(accountId: number, recipientId: string, contactId: number, now: number): Promise<void> {
    return this.shards.of(accountId, recipientId).contacts.markInvalid(accountId, recipientId, contactId, now);
  }

  delete(accountId: number, recipientId: string, contactId: number): Promise<boolean> {
    return this.shards.of(accountId, recipientId).contacts.delete(accountId, recipientId, contactId);
  }
}

class ShardedPreferences implements PreferenceRepository {
  constructor(private readonly shards: Shards) {}

  get(accountId: number, recipientId: string): Promise<Preferences | undefined> {
    return this.shards.of(accountId, recipientId).preferences.get(accountId, recipientId);
  }

  put(accountId: number, recipientId: string, preferences: Preferences, now: number): Promise<boolean> {
    return this.shards.of(accountId, recipientId).preferences.put(accountId, recipientId, preferences, now);
  }
}

/**
 * The notifier's stores over a ShardSet (ADR 10): recipients, contact points and preferences on
 * the recipient's shard; categories and templates, per-account configuration read on every
 * send, small and cached (cached-stores.ts), on the home shard `s0`, so a send reads them
 * without a scatter and their lists page as on one database.
 */
export function shardedNotifierStores(set: ShardSet, storesFor: (shard: Shard) => NotifierStores = (s) => kyselyNotifierStores(s.database)): NotifierStores {
  const shards = new Shards(set, storesFor);
  const home = shards.on(set.home);
  return {
    recipients: new ShardedRecipients(shards),
    contacts: new ShardedContactPoints(shards),
    preferences: new ShardedPreferences(shards),
    categories: home.categories,
    templates: home.templates,
  };
}

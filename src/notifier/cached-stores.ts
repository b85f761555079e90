import { LRUCache } from 'lru-cache';
import type { NotifierStores } from './ports.js';

/**
 * How the cache learns that the stores changed outside it (another process wrote).
 * - SQLite: `PRAGMA data_version` (src/adapters/sqlite/data-version-freshness.ts): exact.
 * - Scale-out: an announcement over Redis pub/sub (src/adapters/redis/bus-freshness.ts): other
 *   processes clear within the message's delay (milliseconds); `maxAgeMs` bounds what a missed
 *   announcement can cost.
 */
export interface CacheFreshness {
  /** True when another process may have changed the stores since the last call: the cache is cleared. */
  changedElsewhere(): boolean;
  /** A write through this cache has committed: tell the other processes. */
  announce(): void;
}

export interface CachedStoresOptions {
  freshness: CacheFreshness;
  maxEntries?: number;
  /** Entries older than this are read again (default: no limit). */
  maxAgeMs?: number;
}

/**
 * The notifier's configuration reads on the accept path (recipient, contact points,
 * preferences, category, best template: five queries a notification) from an in-process cache:
 * - every write through these stores clears it, before and after (configuration changes are
 *   rare), and announces it to the other processes;
 * - every read first asks the freshness strategy whether another process wrote, and clears the
 *   cache if so.
 * With data_version (SQLite) a read returns what the database holds at that moment, as the
 * uncached store would; with pub/sub, another process's change is seen once its announcement
 * has arrived. Values are shared between callers: treat them as read-only (the use cases do).
 */
export function cachedNotifierStores(stores: NotifierStores, options: CachedStoresOptions): NotifierStores & { readonly stats: { hits: number; misses: number; clears: number } } {
  const { freshness } = options;
  // Promises are cached, so concurrent misses of one key share one query.
  const cache = new LRUCache<string, Promise<unknown>>({ max: options.maxEntries ?? 10_000, ...(options.maxAgeMs ? { ttl: options.maxAgeMs } : {}) });
  const stats = { hits: 0, misses: 0, clears: 0 };

  const clear = (): void => {
    cache.clear();
    stats.clears += 1;
  };
  const read = <T>(key: string, load: () => Promise<T>): Promise<T> => {
    if (freshness.changedElsewhere()) clear();
    const hit = cache.get(key) as Promise<T> | undefined;
    if (hit) {
      stats.hits += 1;
      return hit;
    }
    stats.misses += 1;
    // A clear while it loads drops it, so a result read before a write is never kept.
    const loading = load();
    cache.set(key, loading);
    loading.catch(() => cache.get(key) === loading && cache.delete(key));
    return loading;
  };
  /** A write: clears before and after (a read that overlapped it cannot stay cached). */
  const write = async <T>(run: () => Promise<T>): Promise<T> => {
    clear();
    try {
      return await run();
    } finally {
      clear();
      freshness.announce();
    }
  };

  const { recipients, contacts, preferences, categories, templates } = stores;
  return {
    stats,
    recipients: {
      find: (accountId, id) => read(`r\0${accountId}\0${id}`, () => recipients.find(accountId, id)),
      list: (accountId, after, limit) => recipients.list(accountId, after, limit),
      insert: (r) => write(() => recipients.insert(r)),
      insertWithContacts: (r, c) => write(() => recipients.insertWithContacts(r, c)),
      update: (accountId, id, changes) => write(() => recipients.update(accountId, id, changes)),
      delete: (accountId, id) => write(() => recipients.delete(accountId, id)),
    },
    contacts: {
      list: (accountId, recipientId) => read(`c\0${accountId}\0${recipientId}`, () => contacts.list(accountId, recipientId)),
      listMany: (accountId, ids) => contacts.listMany(accountId, ids),
      add: (c) => write(() => contacts.add(c)),
      setValid: (accountId, recipientId, contactId, valid, now) => write(() => contacts.setValid(accountId, recipientId, contactId, valid, now)),
      markInvalid: (accountId, recipientId, contactId, now) => write(() => contacts.markInvalid(accountId, recipientId, contactId, now)),
      delete: (accountId, recipientId, contactId) => write(() => contacts.delete(accountId, recipientId, contactId)),
    },
    preferences: {
      get: (accountId, recipientId) => read(`p\0${accountId}\0${recipientId}`, () => preferences.get(accountId, recipientId)),
      put: (accountId, recipientId, p, now) => write(() => preferences.put(accountId, recipientId, p, now)),
    },
    categories: {
      find: (accountId, name) => read(`k\0${accountId}\0${name}`, () => categories.find(accountId, name)),
      list: (accountId, after, limit) => categories.list(accountId, after, limit),
      insert: (accountId, name, fields, now) => write(() => categories.insert(accountId, name, fields, now)),
      update: (accountId, name, fields, now) => write(() => categories.update(accountId, name, fields, now)),
      delete: (accountId, name) => write(() => categories.delete(accountId, name)),
    },
    templates: {
      findBest: (accountId, name, channel, locales) =>
        read(`t\0${accountId}\0${name}\0${channel}\0${locales.join('\0')}`, () => templates.findBest(accountId, name, channel, locales)),
      find: (accountId, id) => templates.find(accountId, id),
      list: (accountId, query) => templates.list(accountId, query),
      put: (accountId, id, parts, now) => write(() => templates.put(accountId, id, parts, now)),
      delete: (accountId, id) => write(() => templates.delete(accountId, id)),
    },
  };
}

import type SqliteDatabase from 'better-sqlite3';
import { LRUCache } from 'lru-cache';
import type { NotifierStores } from '../../notifier/ports.js';

/**
 * The notifier's configuration reads on the accept path (recipient, contact points,
 * preferences, category, best template: five queries a notification) from an in-process cache
 * that is never stale, on SQLite:
 * - every write through these stores clears it (configuration changes are rare);
 * - every read first checks `PRAGMA data_version`, which changes when ANOTHER connection (another
 *   process on the same file: a `tny serve` next to this one, a delivery worker marking a
 *   contact invalid) has committed; then the cache is cleared before the read. Commits of this
 *   connection do not change it, and they all go through the stores or through the ledger and
 *   queue, which do not touch configuration tables.
 * So a read returns what the database holds at that moment, as the uncached store would.
 * Values are shared between callers: treat them as read-only (the use cases do).
 */
export function cachedNotifierStores(stores: NotifierStores, raw: SqliteDatabase.Database, maxEntries = 10_000): NotifierStores & { readonly stats: { hits: number; misses: number; clears: number } } {
  const dataVersion = raw.prepare('PRAGMA data_version').pluck() as SqliteDatabase.Statement<[], number>;
  // Promises are cached, so concurrent misses of one key share one query.
  const cache = new LRUCache<string, Promise<unknown>>({ max: maxEntries });
  const stats = { hits: 0, misses: 0, clears: 0 };
  let version = dataVersion.get();

  const clear = (): void => {
    cache.clear();
    stats.clears += 1;
  };
  const read = <T>(key: string, load: () => Promise<T>): Promise<T> => {
    const now = dataVersion.get();
    if (now !== version) {
      version = now;
      clear();
    }
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
      markInvalid: (contactId, now) => write(() => contacts.markInvalid(contactId, now)),
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

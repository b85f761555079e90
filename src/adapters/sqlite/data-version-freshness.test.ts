import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sqliteFactory, type Connection, type TestDatabase } from '../../../test/helpers/databases.js';
import type { CategoryFields } from '../../notifier/category.js';
import type { NotifierStores } from '../../notifier/ports.js';
import { KyselyNotifierCategories } from '../sql/kysely-notifier-categories.js';
import { KyselyNotifierContactPoints } from '../sql/kysely-notifier-contact-points.js';
import { KyselyNotifierPreferences } from '../sql/kysely-notifier-preferences.js';
import { KyselyNotifierRecipients } from '../sql/kysely-notifier-recipients.js';
import { KyselyNotifierTemplates } from '../sql/kysely-notifier-templates.js';
import { cachedNotifierStores } from '../../notifier/cached-stores.js';
import { dataVersionFreshness } from './data-version-freshness.js';

const fields = (description: string): CategoryFields => ({ description, defaultChannels: ['webhook'], fallback: [], critical: false, frequencyCap: null });

/** Real SQLite files; "another process" is a second connection to the same file. */
describe('cachedNotifierStores with dataVersionFreshness (SQLite, PRAGMA data_version)', () => {
  let database: TestDatabase;
  let other: Connection;
  let base: NotifierStores;
  let categoryFinds: number;
  beforeEach(async () => {
    database = await sqliteFactory.open();
    other = await database.connectAgain();
    categoryFinds = 0;
    const categories = new KyselyNotifierCategories(database.db, 'sqlite');
    const find = categories.find.bind(categories);
    categories.find = (accountId, name) => {
      categoryFinds += 1;
      return find(accountId, name);
    };
    base = {
      recipients: new KyselyNotifierRecipients(database.db, 'sqlite'),
      contacts: new KyselyNotifierContactPoints(database.db),
      preferences: new KyselyNotifierPreferences(database.db),
      categories,
      templates: new KyselyNotifierTemplates(database.db, 'sqlite'),
    };
  });
  afterEach(() => database.close());

  it('answers repeats from memory, and concurrent misses share one query', async () => {
    const stores = cachedNotifierStores(base, { freshness: dataVersionFreshness(database.raw!) });
    await stores.categories.insert(1, 'news', fields('v1'), 1000);
    const [a, b] = await Promise.all([stores.categories.find(1, 'news'), stores.categories.find(1, 'news')]);
    expect(a?.description).toBe('v1');
    expect(b).toBe(a);
    expect(await stores.categories.find(1, 'news')).toBe(a);
    expect(categoryFinds).toBe(1);
    expect(await stores.categories.find(2, 'news')).toBeUndefined(); // another account: its own key
    expect(categoryFinds).toBe(2);
  });

  it('a write through the stores is seen by the next read', async () => {
    const stores = cachedNotifierStores(base, { freshness: dataVersionFreshness(database.raw!) });
    await stores.categories.insert(1, 'news', fields('v1'), 1000);
    expect((await stores.categories.find(1, 'news'))?.description).toBe('v1');
    await stores.categories.update(1, 'news', fields('v2'), 2000);
    expect((await stores.categories.find(1, 'news'))?.description).toBe('v2');
    await stores.categories.delete(1, 'news');
    expect(await stores.categories.find(1, 'news')).toBeUndefined();
  });

  it('a commit by another connection (another process on the file) is seen by the next read', async () => {
    const stores = cachedNotifierStores(base, { freshness: dataVersionFreshness(database.raw!) });
    await stores.categories.insert(1, 'news', fields('v1'), 1000);
    expect((await stores.categories.find(1, 'news'))?.description).toBe('v1');
    other.raw!.prepare("UPDATE notifier_categories SET description = 'from elsewhere' WHERE account_id = 1 AND name = 'news'").run();
    expect((await stores.categories.find(1, 'news'))?.description).toBe('from elsewhere');
    // A commit of this connection outside the stores (the ledger, the queue) keeps the cache.
    const before = categoryFinds;
    database.raw!.prepare("UPDATE notifier_categories SET description = 'same connection' WHERE account_id = 1 AND name = 'news'").run();
    expect((await stores.categories.find(1, 'news'))?.description).toBe('from elsewhere');
    expect(categoryFinds).toBe(before);
  });

  it('caches recipients, contact points, preferences and the best template the same way', async () => {
    const stores = cachedNotifierStores(base, { freshness: dataVersionFreshness(database.raw!) });
    const created = await stores.recipients.insertWithContacts({ accountId: 1, id: 'ada', locale: 'en', timeZone: 'UTC', now: 1 }, [
      { kind: 'webhook', address: 'https://example.com/h', keys: null },
    ]);
    expect(created).not.toBe('conflict');
    await stores.templates.put(1, { name: 't', channel: 'webhook', locale: 'en' }, { subject: null, body: 'v1', html: null }, 1);
    const first = await stores.contacts.list(1, 'ada');
    expect(first).toHaveLength(1);
    expect(await stores.contacts.list(1, 'ada')).toBe(first);
    await stores.contacts.markInvalid(1, 'ada', first[0]!.id, 5);
    expect((await stores.contacts.list(1, 'ada'))[0]!.valid).toBe(false);
    expect((await stores.templates.findBest(1, 't', 'webhook', ['de', 'en']))?.body).toBe('v1');
    other.raw!.prepare("UPDATE notifier_templates SET body = 'v2'").run();
    expect((await stores.templates.findBest(1, 't', 'webhook', ['de', 'en']))?.body).toBe('v2');
    expect(await stores.preferences.get(1, 'ada')).toBeUndefined();
    await stores.preferences.put(1, 'ada', { optOut: true, categories: {}, quietHours: null }, 9);
    expect(await stores.preferences.get(1, 'ada')).toMatchObject({ optOut: true });
    expect(stores.stats.hits).toBeGreaterThan(0);
  });
});

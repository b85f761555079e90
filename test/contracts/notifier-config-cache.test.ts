import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { busFreshness } from '../../src/adapters/redis/bus-freshness.js';
import { KyselyNotifierCategories } from '../../src/adapters/sql/kysely-notifier-categories.js';
import { KyselyNotifierContactPoints } from '../../src/adapters/sql/kysely-notifier-contact-points.js';
import { KyselyNotifierPreferences } from '../../src/adapters/sql/kysely-notifier-preferences.js';
import { KyselyNotifierRecipients } from '../../src/adapters/sql/kysely-notifier-recipients.js';
import { KyselyNotifierTemplates } from '../../src/adapters/sql/kysely-notifier-templates.js';
import { cachedNotifierStores } from '../../src/notifier/cached-stores.js';
import type { CategoryFields } from '../../src/notifier/category.js';
import type { NotifierStores } from '../../src/notifier/ports.js';
import { postgresFactory, type TestDatabase } from '../helpers/databases.js';
import { describeWithRedis, uniquePrefix } from '../helpers/redis.js';

const fields = (description: string): CategoryFields => ({ description, defaultChannels: ['webhook'], fallback: [], critical: false, frequencyCap: null });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The accept path's configuration cache in scale-out mode: two "processes" (their own Redis
 * connections and caches) on one PostgreSQL database; a change through one reaches the other
 * by announcement over Redis, and maxAgeMs bounds a change nobody announced.
 */
describeWithRedis('notifier configuration cache across processes (PostgreSQL + Redis announcements)', (url) => {
  const pgUrl = process.env.DATABASE_URL_TEST;
  let database: TestDatabase;
  const redisClients: Redis[] = [];
  const closers: (() => Promise<void>)[] = [];
  let finds = 0;
  const prefix = uniquePrefix();

  const process_ = async (maxAgeMs = 60_000) => {
    const [cmd, sub] = [new Redis(url), new Redis(url)];
    redisClients.push(cmd);
    const categories = new KyselyNotifierCategories(database.db, 'postgres');
    const find = categories.find.bind(categories);
    categories.find = (a, n) => {
      finds += 1;
      return find(a, n);
    };
    const base: NotifierStores = {
      recipients: new KyselyNotifierRecipients(database.db, 'postgres'),
      contacts: new KyselyNotifierContactPoints(database.db),
      preferences: new KyselyNotifierPreferences(database.db),
      categories,
      templates: new KyselyNotifierTemplates(database.db, 'postgres'),
    };
    const freshness = await busFreshness(cmd, sub, prefix);
    closers.push(() => freshness.close());
    return cachedNotifierStores(base, { freshness, maxAgeMs });
  };

  beforeAll(async () => {
    if (!pgUrl) throw new Error('DATABASE_URL_TEST is required');
    database = await postgresFactory(pgUrl).open();
  });
  afterAll(async () => {
    for (const c of closers) await c();
    for (const r of redisClients) r.disconnect();
    await database?.close();
  });

  it('answers repeats from memory; a change through another process is seen once its announcement arrives (< 100 ms)', async () => {
    const a = await process_();
    const b = await process_();
    await a.categories.insert(1, 'news', fields('v1'), 1);
    await sleep(50); // the insert's own announcement reaches b first
    expect((await b.categories.find(1, 'news'))?.description).toBe('v1');
    const before = finds;
    expect((await b.categories.find(1, 'news'))?.description).toBe('v1');
    expect(finds).toBe(before); // from memory
    await a.categories.update(1, 'news', fields('v2'), 2);
    const t0 = performance.now();
    let seen = '';
    while (performance.now() - t0 < 1000) {
      seen = (await b.categories.find(1, 'news'))?.description ?? '';
      if (seen === 'v2') break;
      await sleep(2);
    }
    const ms = performance.now() - t0;
    expect(seen).toBe('v2');
    expect(ms).toBeLessThan(100);
  });

  it('a change nobody announced (written straight to the database) is seen after maxAgeMs at the latest', async () => {
    const c = await process_(300);
    await c.categories.insert(2, 'quiet', fields('old'), 1);
    expect((await c.categories.find(2, 'quiet'))?.description).toBe('old');
    await database.db.updateTable('notifier_categories').set({ description: 'new' }).where('account_id', '=', 2).where('name', '=', 'quiet').execute();
    expect((await c.categories.find(2, 'quiet'))?.description).toBe('old');
    await sleep(350);
    expect((await c.categories.find(2, 'quiet'))?.description).toBe('new');
  });
});


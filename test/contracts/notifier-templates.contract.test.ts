import { afterAll, beforeAll, expect, it } from 'vitest';
import { KyselyNotifierCategories } from '../../src/adapters/sql/kysely-notifier-categories.js';
import { KyselyNotifierTemplates } from '../../src/adapters/sql/kysely-notifier-templates.js';
import type { CategoryFields } from '../../src/notifier/category.js';
import type { TemplateId } from '../../src/notifier/templates/template.js';
import { describeEachDatabase, type TestDatabase } from '../helpers/databases.js';

describeEachDatabase('notifier categories and templates contract', (factory) => {
  let database: TestDatabase;
  let nextAccount = 1;
  beforeAll(async () => {
    database = await factory.open();
  });
  afterAll(() => database.close());
  const categories = () => new KyselyNotifierCategories(database.db, database.dialect);
  const templates = () => new KyselyNotifierTemplates(database.db, database.dialect);
  const fields: CategoryFields = {
    description: 'Sign-ins and password changes',
    defaultChannels: ['web_push', 'email'],
    fallback: ['web_push', 'email', 'sms'],
    critical: true,
    frequencyCap: { count: 5, windowMs: 3_600_000 },
  };

  it('round-trips a category, refuses a taken name per account, updates and deletes', async () => {
    const a = nextAccount++;
    const created = await categories().insert(a, 'security', fields, 100);
    expect(created).toEqual({ accountId: a, name: 'security', ...fields, createdAt: 100, updatedAt: 100 });
    expect(await categories().insert(a, 'security', fields, 200)).toBe('conflict');
    expect(await categories().insert(a + 1000, 'security', { ...fields, frequencyCap: null }, 200)).toMatchObject({ frequencyCap: null });
    const changed = { ...fields, critical: false, frequencyCap: null, fallback: [] };
    expect(await categories().update(a, 'security', changed, 300)).toEqual({ accountId: a, name: 'security', ...changed, createdAt: 100, updatedAt: 300 });
    expect(await categories().find(a, 'security')).toMatchObject({ critical: false, frequencyCap: null });
    expect(await categories().update(a, 'nope', changed, 300)).toBeUndefined();
    expect(await categories().delete(a, 'security')).toBe(true);
    expect(await categories().find(a, 'security')).toBeUndefined();
    expect(await categories().find(a + 1000, 'security')).toBeDefined();
  });

  it('pages categories by name', async () => {
    const a = nextAccount++;
    const names = ['social', 'marketing', 'security', 'billing', 'a-1', 'a.1'];
    for (const n of names) await categories().insert(a, n, fields, 1);
    const first = await categories().list(a, null, 4);
    const rest = await categories().list(a, first[3]!.name, 4);
    expect([...first, ...rest].map((c) => c.name)).toEqual([...names].sort());
  });

  it('creates then replaces a template, keeping created_at', async () => {
    const a = nextAccount++;
    const id: TemplateId = { name: 'welcome', channel: 'email', locale: 'de' };
    const first = await templates().put(a, id, { subject: 'Hallo', body: 'Hallo {{ name }}', html: '<p>Hallo</p>' }, 10);
    expect(first.created).toBe(true);
    expect(first.template).toEqual({ accountId: a, ...id, subject: 'Hallo', body: 'Hallo {{ name }}', html: '<p>Hallo</p>', createdAt: 10, updatedAt: 10 });
    const second = await templates().put(a, id, { subject: null, body: 'Servus', html: null }, 20);
    expect(second.created).toBe(false);
    expect(second.template).toMatchObject({ subject: null, body: 'Servus', html: null, createdAt: 10, updatedAt: 20 });
    expect(await templates().find(a, id)).toEqual(second.template);
    expect(await templates().find(a + 1000, id)).toBeUndefined();
  });

  it('reports exactly one creation among concurrent puts of one variant, even within one millisecond', async () => {
    const a = nextAccount++;
    const id: TemplateId = { name: 'race', channel: 'sms', locale: 'en' };
    const other = new KyselyNotifierTemplates((await database.connectAgain()).db, database.dialect);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? other : templates()).put(a, id, { subject: null, body: `v${i}`, html: null }, 5)),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect((await templates().put(a, id, { subject: null, body: 'again', html: null }, 5)).created).toBe(false);
  });

  it('finds the best template along the locale chain', async () => {
    const a = nextAccount++;
    await templates().put(a, { name: 'n', channel: 'email', locale: 'de' }, { subject: null, body: 'de', html: null }, 1);
    await templates().put(a, { name: 'n', channel: 'email', locale: 'en' }, { subject: null, body: 'en', html: null }, 1);
    await templates().put(a, { name: 'n', channel: 'sms', locale: 'de-AT' }, { subject: null, body: 'sms de-AT', html: null }, 1);
    expect((await templates().findBest(a, 'n', 'email', ['de-AT', 'de', 'en']))?.body).toBe('de');
    expect((await templates().findBest(a, 'n', 'email', ['fr-CA', 'fr', 'en']))?.body).toBe('en');
    expect((await templates().findBest(a, 'n', 'sms', ['de-AT', 'de', 'en']))?.body).toBe('sms de-AT');
    expect(await templates().findBest(a, 'n', 'web_push', ['de', 'en'])).toBeUndefined();
    expect(await templates().findBest(a + 1000, 'n', 'email', ['en'])).toBeUndefined();
  });

  it('pages templates by (name, channel, locale), optionally for one name, and deletes one variant', async () => {
    const a = nextAccount++;
    const ids: TemplateId[] = [];
    for (const name of ['b', 'a', 'ab'])
      for (const channel of ['sms', 'email'] as const)
        for (const locale of ['en', 'de', 'de-AT']) ids.push({ name, channel, locale });
    for (const id of ids) await templates().put(a, id, { subject: null, body: 'x', html: null }, 1);
    // \u0000 sorts below every character, so joined keys sort as the tuples do.
    const key = (t: TemplateId) => `${t.name}\u0000${t.channel}\u0000${t.locale}`;
    const expected = ids.map(key).sort();
    const seen: string[] = [];
    let after: TemplateId | null = null;
    for (;;) {
      const page = await templates().list(a, { after, limit: 4 });
      seen.push(...page.map(key));
      if (page.length < 4) break;
      after = page[page.length - 1]!;
    }
    expect(seen).toEqual(expected);
    const onlyAb = await templates().list(a, { name: 'ab', after: null, limit: 100 });
    expect(onlyAb.map(key)).toEqual(expected.filter((k) => k.startsWith('ab\u0000')));
    expect(await templates().delete(a, { name: 'ab', channel: 'sms', locale: 'de' })).toBe(true);
    expect(await templates().delete(a, { name: 'ab', channel: 'sms', locale: 'de' })).toBe(false);
    expect(await templates().list(a, { name: 'ab', after: null, limit: 100 })).toHaveLength(5);
  });
});

import { expect, it } from 'vitest';
import { KyselySettingsStore } from '../../src/adapters/sql/kysely-settings-store.js';
import { describeEachDatabase, useFreshDatabase } from '../helpers/databases.js';

describeEachDatabase('SettingsStore contract', (factory) => {
  const database = useFreshDatabase(factory);
  const store = () => new KyselySettingsStore(database().db);

  it('stores the first value and returns it afterwards without calling make again', async () => {
    expect(await store().getOrCreate('secret', () => 'first')).toBe('first');
    let called = false;
    const again = await store().getOrCreate('secret', () => {
      called = true;
      return 'second';
    });
    expect(again).toBe('first');
    expect(called).toBe(false);
    expect(await store().getOrCreate('other', () => 'x')).toBe('x');
  });

  it('lets exactly one of many concurrent writers win, on every connection', async () => {
    const other = new KyselySettingsStore((await database().connectAgain()).db);
    const values = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? other : store()).getOrCreate('race', () => `writer-${i}`)),
    );
    expect(new Set(values).size).toBe(1);
    const stored = await database().db.selectFrom('settings').select('value').where('name', '=', 'race').execute();
    expect(stored).toEqual([{ value: values[0] }]);
  });
});

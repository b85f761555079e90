import type { Kysely } from 'kysely';
import type { SettingsStore } from '../../shortener/ports.js';
import type { Database } from './schema.js';

/** Settings in the `settings` table; the first writer of a name wins, later ones read it. */
export class KyselySettingsStore implements SettingsStore {
  constructor(private readonly db: Kysely<Database>) {}

  async getOrCreate(name: string, make: () => string): Promise<string> {
    const existing = await this.read(name);
    if (existing !== undefined) return existing;
    await this.db
      .insertInto('settings')
      .values({ name, value: make() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const stored = await this.read(name);
    if (stored === undefined) throw new Error(`setting ${name} vanished right after it was stored`);
    return stored;
  }

  private async read(name: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('settings').select('value').where('name', '=', name).executeTakeFirst();
    return row?.value;
  }
}

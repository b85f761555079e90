import type { NotifierStores } from '../../notifier/ports.js';
import { KyselyNotifierCategories } from './kysely-notifier-categories.js';
import { KyselyNotifierContactPoints } from './kysely-notifier-contact-points.js';
import { KyselyNotifierPreferences } from './kysely-notifier-preferences.js';
import { KyselyNotifierRecipients } from './kysely-notifier-recipients.js';
import { KyselyNotifierTemplates } from './kysely-notifier-templates.js';
import type { OpenedDatabase } from './open-database.js';

/** The notifier's stores on one database (one shard, or the whole of an unsharded install). */
export function kyselyNotifierStores(database: Pick<OpenedDatabase, 'db' | 'dialect'>): NotifierStores {
  return {
    recipients: new KyselyNotifierRecipients(database.db, database.dialect),
    contacts: new KyselyNotifierContactPoints(database.db),
    preferences: new KyselyNotifierPreferences(database.db),
    categories: new KyselyNotifierCategories(database.db, database.dialect),
    templates: new KyselyNotifierTemplates(database.db, database.dialect),
  };
}

import type { ChannelName } from './channel-names.js';
import type { Category, CategoryFields } from './category.js';
import type { Preferences } from './preferences.js';
import type { ContactPoint, NewContactPoint, NewRecipient, Recipient } from './recipient.js';
import type { Template, TemplateId, TemplateParts } from './templates/template.js';

/**
 * Storage of the notifier's configuration. One Kysely implementation serves SQLite and
 * PostgreSQL; every method is scoped by account, so an account can never reach another's rows.
 * Lists are keyset pages: `after` is the last item's key (null for the first page), and at most
 * `limit` items come back in key order.
 */
export interface RecipientRepository {
  /** `'conflict'` when the account has a recipient with this id (nothing is written then). */
  insert(recipient: NewRecipient): Promise<Recipient | 'conflict'>;
  /** The recipient and its first contact points in one transaction: all of them or none. */
  insertWithContacts(
    recipient: NewRecipient,
    contacts: readonly Pick<ContactPoint, 'kind' | 'address' | 'keys'>[],
  ): Promise<{ recipient: Recipient; contacts: ContactPoint[] } | 'conflict'>;
  find(accountId: number, id: string): Promise<Recipient | undefined>;
  update(accountId: number, id: string, changes: { locale?: string; timeZone?: string; updatedAt: number }): Promise<Recipient | undefined>;
  /** Its contact points and preferences go with it. */
  delete(accountId: number, id: string): Promise<boolean>;
  list(accountId: number, after: string | null, limit: number): Promise<Recipient[]>;
}

export interface ContactPointRepository {
  /** `'conflict'` when the recipient has this kind and address already; undefined when the recipient does not exist. */
  add(contact: NewContactPoint): Promise<ContactPoint | 'conflict' | undefined>;
  list(accountId: number, recipientId: string): Promise<ContactPoint[]>;
  /** Contact points of many recipients at once (for batch sends), grouped by recipient id. */
  listMany(accountId: number, recipientIds: readonly string[]): Promise<Map<string, ContactPoint[]>>;
  setValid(accountId: number, recipientId: string, contactId: number, valid: boolean, now: number): Promise<ContactPoint | undefined>;
  /**
   * For channels: a permanent refusal from the provider makes this contact point invalid.
   * Addressed by its recipient like every other method: contact ids are unique per database,
   * and with shards the recipient says which database (docs/sharding.md).
   */
  markInvalid(accountId: number, recipientId: string, contactId: number, now: number): Promise<void>;
  delete(accountId: number, recipientId: string, contactId: number): Promise<boolean>;
}

export interface PreferenceRepository {
  /** undefined when none were stored (the caller uses DEFAULT_PREFERENCES). */
  get(accountId: number, recipientId: string): Promise<Preferences | undefined>;
  /** Replaces them; false when the recipient does not exist. */
  put(accountId: number, recipientId: string, preferences: Preferences, now: number): Promise<boolean>;
}

export interface CategoryRepository {
  insert(accountId: number, name: string, fields: CategoryFields, now: number): Promise<Category | 'conflict'>;
  find(accountId: number, name: string): Promise<Category | undefined>;
  update(accountId: number, name: string, fields: CategoryFields, now: number): Promise<Category | undefined>;
  delete(accountId: number, name: string): Promise<boolean>;
  list(accountId: number, after: string | null, limit: number): Promise<Category[]>;
}

export interface TemplateRepository {
  /** Creates or replaces; `created` tells which. */
  put(accountId: number, id: TemplateId, parts: TemplateParts, now: number): Promise<{ template: Template; created: boolean }>;
  find(accountId: number, id: TemplateId): Promise<Template | undefined>;
  /** The first of `locales` (in order) that has a template with this name and channel. */
  findBest(accountId: number, name: string, channel: ChannelName, locales: readonly string[]): Promise<Template | undefined>;
  delete(accountId: number, id: TemplateId): Promise<boolean>;
  /** Ordered by (name, channel, locale); `name` filters to one template's variants. */
  list(accountId: number, query: { name?: string; after: TemplateId | null; limit: number }): Promise<Template[]>;
}

export interface NotifierStores {
  recipients: RecipientRepository;
  contacts: ContactPointRepository;
  preferences: PreferenceRepository;
  categories: CategoryRepository;
  templates: TemplateRepository;
}

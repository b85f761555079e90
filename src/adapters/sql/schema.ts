import type { ColumnType, Generated } from 'kysely';

/**
 * The relational schema shared by SQLite and PostgreSQL. Times are epoch milliseconds in
 * BIGINT columns and booleans are 0/1 integers, so both engines store and return the same
 * values and one repository implementation serves both.
 */
type Big = ColumnType<number, number, number>;
type BigDefault = ColumnType<number, number | undefined, number>;
/** A nullable column an insert may leave out. */
type OptionalNull<T> = ColumnType<T | null, T | null | undefined, T | null>;

export interface AccountsTable {
  id: Generated<number>;
  name: string;
  is_admin: number;
  created_at: Big;
}

export interface ApiKeysTable {
  id: string;
  account_id: number;
  name: string;
  key_hash: string;
  created_at: Big;
  last_used_at: Big | null;
  revoked_at: Big | null;
}

export interface ShortUrlsTable {
  id: Generated<number>;
  short_key: string;
  original_url: string;
  account_id: number;
  created_at: Big;
  updated_at: Big;
  expires_at: Big | null;
  max_clicks: Big | null;
  click_count: BigDefault;
  redirect_status: number;
  password_hash: string | null;
  forward_query: number;
  disabled: number;
}

export interface LinkTagsTable {
  link_id: number;
  tag: string;
}

export interface ClickRollupsTable {
  link_id: number;
  /** UTC day, `YYYY-MM-DD`. */
  day: string;
  /** Referrer host, '' for direct traffic. */
  referrer: string;
  browser: string;
  os: string;
  bot: number;
  clicks: Big;
}

export interface SequencesTable {
  name: string;
  next_value: Big;
}

export interface SettingsTable {
  name: string;
  value: string;
}

export interface IdempotencyKeysTable {
  scope: string;
  key: string;
  request_hash: string;
  status_code: number | null;
  response: string | null;
  created_at: Big;
  expires_at: Big;
}

/** Click batches appended by flushes, until compaction folds them in (ADR 6). */
export interface ClickJournalTable {
  id: Generated<number>;
  body: string;
  created_at: Big;
}

/** One row (id 1): the process that owns the click journal, until expires_at. */
export interface ClickJournalLeaseTable {
  id: number;
  owner: string;
  expires_at: Big;
}

/** One row (id 1) while a compaction runs: journal ids ≤ upto, links ≤ done_link_id applied. */
export interface ClickCompactionTable {
  id: number;
  upto: Big;
  done_link_id: Big;
}

/** The durable queue's jobs (docs/patterns/queue.md). */
export interface QueueJobsTable {
  id: Generated<number>;
  queue: string;
  /** 'pending' (ready, delayed or leased), 'dead', or 'done' (acked, inside its dedupe window). */
  state: string;
  priority: number;
  /** When the job is next visible: due time, lease expiry, or (done) dedupe window end. */
  run_at: Big;
  payload: string;
  attempts: number;
  max_attempts: number;
  lease_token: string | null;
  dedupe_key: string | null;
  last_error: string | null;
  created_at: Big;
  dead_at: Big | null;
}

/** A notification recipient; the id is the calling service's, unique per account. */
export interface NotifierRecipientsTable {
  account_id: number;
  id: string;
  locale: string;
  time_zone: string;
  created_at: Big;
  updated_at: Big;
}

/** Where a recipient can be reached; `keys` is JSON (web push only), `valid` 0/1. */
export interface NotifierContactPointsTable {
  id: Generated<number>;
  account_id: number;
  recipient_id: string;
  kind: string;
  address: string;
  keys: string | null;
  valid: number;
  created_at: Big;
  updated_at: Big;
}

/** A recipient's preferences as one JSON document. */
export interface NotifierPreferencesTable {
  account_id: number;
  recipient_id: string;
  body: string;
  updated_at: Big;
}

/** Channel lists are JSON arrays; the frequency cap is both columns or neither. */
export interface NotifierCategoriesTable {
  account_id: number;
  name: string;
  description: string;
  default_channels: string;
  fallback: string;
  critical: number;
  cap_count: number | null;
  cap_window_ms: Big | null;
  created_at: Big;
  updated_at: Big;
}

export interface NotifierTemplatesTable {
  account_id: number;
  name: string;
  channel: string;
  locale: string;
  subject: string | null;
  body: string;
  html: string | null;
  created_at: Big;
  updated_at: Big;
}

export interface NotifierNotificationsTable {
  id: string;
  account_id: number;
  recipient_id: string;
  category: string;
  template: string;
  /** JSON object: the template data. */
  data: string;
  priority: string;
  send_at: Big | null;
  created_at: Big;
  /** The caller's Idempotency-Key (or a batch item's derived key); NULL without one. Unique per account. */
  idempotency_key: OptionalNull<string>;
  /** SHA-256 of the send input the key was first used with (a different one is 422). */
  request_hash: OptionalNull<string>;
  /** The key replays until then; afterwards it is cleared by the next send with the same key. */
  idempotency_expires_at: OptionalNull<number>;
  /** Comma-separated channels in the order of the accept answer. */
  channels: OptionalNull<string>;
}

export interface NotifierDeliveriesTable {
  id: string;
  notification_id: string;
  account_id: number;
  channel: string;
  /** pending | sending | sent | failed | dead | suppressed */
  status: string;
  reason: string | null;
  contact_id: number | null;
  /** JSON OutgoingMessage, rendered at accept time; null for suppressed rows. */
  message: string | null;
  run_at: Big;
  attempts: number;
  claim_token: string | null;
  claimed_at: Big | null;
  provider_message_id: string | null;
  last_error: string | null;
  /** JSON array of { at, event, detail? }. */
  log: string;
  created_at: Big;
  updated_at: Big;
}

/** In-app messages; `data` is a JSON object or null, `read_at` null while unread. */
export interface NotifierInboxTable {
  id: Generated<number>;
  account_id: number;
  recipient_id: string;
  idempotency_key: string;
  title: string;
  body: string;
  data: string | null;
  created_at: Big;
  read_at: Big | null;
}

/** One row per Redis click flush applied (ADR 7): its marker, written in the flush's transaction. */
export interface ClickFlushesTable {
  id: string;
  applied_at: Big;
}

/** A saga run (src/platform/saga): its input and state; its steps are saga_steps rows. */
export interface SagaRunsTable {
  id: string;
  name: string;
  input: string;
  state: string;
  error: string | null;
  failed_step: number | null;
  steps: number;
  created_at: Big;
  updated_at: Big;
}

/** One step of a saga run that got somewhere: done (with its output) or compensated. */
export interface SagaStepsTable {
  run_id: string;
  idx: number;
  status: string;
  output: string | null;
  updated_at: Big;
}

/** One row (id 1) on s0: the shard set's topology (src/adapters/sharding/topology.ts). */
export interface ShardTopologyTable {
  id: number;
  epoch: Big;
  /** 'stable' | 'migrating'. */
  state: string;
  /** JSON: [{ name, url, schema? }] in shard order. */
  shards: string;
  updated_at: Big;
}

/** A serving process's last topology poll: the epoch it routes by, at seen_at (ms). */
export interface ShardHeartbeatsTable {
  process_id: string;
  epoch: Big;
  seen_at: Big;
}

/** An import's rows waiting on the shard that owns their key (migration 0012). */
export interface ImportStagingTable {
  run_id: string;
  line: number;
  short_key: string;
  is_alias: number;
  original_url: string;
  account_id: number;
  created_at: Big;
  updated_at: Big;
  expires_at: Big | null;
  max_clicks: Big | null;
  redirect_status: number;
  password_hash: string | null;
  forward_query: number;
  disabled: number;
  /** JSON array of the link's tags. */
  tags: string;
  state: string;
  link_id: Big | null;
}

export interface Database {
  shard_topology: ShardTopologyTable;
  shard_heartbeats: ShardHeartbeatsTable;
  accounts: AccountsTable;
  api_keys: ApiKeysTable;
  short_urls: ShortUrlsTable;
  link_tags: LinkTagsTable;
  click_rollups: ClickRollupsTable;
  sequences: SequencesTable;
  settings: SettingsTable;
  idempotency_keys: IdempotencyKeysTable;
  click_journal: ClickJournalTable;
  click_journal_lease: ClickJournalLeaseTable;
  click_compaction: ClickCompactionTable;
  click_flushes: ClickFlushesTable;
  saga_runs: SagaRunsTable;
  saga_steps: SagaStepsTable;
  import_staging: ImportStagingTable;
  queue_jobs: QueueJobsTable;
  notifier_recipients: NotifierRecipientsTable;
  notifier_contact_points: NotifierContactPointsTable;
  notifier_preferences: NotifierPreferencesTable;
  notifier_categories: NotifierCategoriesTable;
  notifier_templates: NotifierTemplatesTable;
  notifier_inbox: NotifierInboxTable;
  notifier_notifications: NotifierNotificationsTable;
  notifier_deliveries: NotifierDeliveriesTable;
}

export type SqlDialectName = 'sqlite' | 'postgres';

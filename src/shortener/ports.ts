import type { ClickAggregate, ClickBatch, LinkStats } from './clicks.js';
import type { Link, LinkChanges, LinkListQuery, LinkPage, NewLink } from './link.js';

/** Storage of links. One implementation (Kysely) serves SQLite and PostgreSQL. */
export interface LinkRepository {
  /** Inserts a link; `'conflict'` when its key is taken (nothing is written then). */
  insert(link: NewLink): Promise<Link | 'conflict'>;
  /**
   * Inserts many in one transaction (one per shard when sharded: not atomic across shards);
   * one result per input, in order.
   */
  insertMany(links: NewLink[]): Promise<(Link | 'conflict')[]>;
  findByKey(key: string): Promise<Link | undefined>;
  /** Applies changes; undefined when the key does not exist. */
  update(key: string, changes: LinkChanges): Promise<Link | undefined>;
  delete(key: string): Promise<boolean>;
  list(query: LinkListQuery): Promise<LinkPage>;
  /**
   * Up to `limit` keys after `afterKey` (null: from the start), in the engine's key order;
   * pages chained by their last key visit every key once. For filling the Bloom filter.
   */
  listKeys(afterKey: string | null, limit: number): Promise<string[]>;
  /**
   * Counts one click on a link that has `max_clicks`, atomically:
   * `true` if the click was within the limit (and is now counted), `false` if the limit was reached.
   * Takes the key as well as the id: the key finds the link's shard, where the id is meaningful.
   */
  consumeLimitedClick(link: Pick<Link, 'id' | 'key'>): Promise<boolean>;
}

/** Click rollups and running counts, written by the write-behind buffer. */
export interface ClickRepository {
  /**
   * Adds a batch in one transaction: all of it or none of it. Sharded, each shard's part is
   * one transaction; parts of shards that failed are held and written later (docs/sharding.md).
   */
  addClicks(batch: ClickBatch): Promise<void>;
  /** Stats over [fromDay, toDay]; `extra` rows (clicks not yet written) are counted as if they were. */
  stats(linkId: number, fromDay: string, toDay: string, extra?: readonly ClickAggregate[]): Promise<Omit<LinkStats, 'from' | 'to'>>;
  /** Clicks accepted for the link's running count but not yet in `click_count`. */
  pendingCount(linkId: number): number;
  /**
   * Runs `read` — a read of stored counts combined with pendingCount — so that no write moving
   * clicks from pending to stored lands in the middle of it (it is run again if one did).
   */
  consistentRead<T>(read: () => Promise<T>): Promise<T>;
  /** Writes whatever addClicks accepted but left pending into rollups and counts. */
  settle(): Promise<void>;
}

/** The chapter's key generation service: blocks of ids leased atomically from the database. */
export interface IdSequence {
  /** Reserves `size` ids for the caller: [start, start + size). */
  lease(name: string, size: number): Promise<{ start: number; end: number }>;
}

/** Small durable settings (e.g. the secret of the key scramble). */
export interface SettingsStore {
  /** The stored value, or `make()`'s stored atomically if there was none (first writer wins). */
  getOrCreate(name: string, make: () => string): Promise<string>;
}

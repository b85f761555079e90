import type { NewLink } from './link.js';

/** One validated import row with its key decided, waiting on the database that owns the key. */
export interface StagedLink {
  /** The row's line in the file: its identity within the run. */
  line: number;
  /** The row's alias (else a generated key): a taken alias is reported as ALIAS_TAKEN. */
  isAlias: boolean;
  link: NewLink;
}

export type StagedConflict = {
  line: number;
  key: string;
  isAlias: boolean;
};

/**
 * The staging area of crash-safe imports on ONE database (a shard, or the only database):
 * rows are staged under the import's run id, then moved into the links table in transactions
 * that also mark them, so moving again moves nothing twice, and undoing removes exactly the
 * links the run made. docs/adr/0009-sagas-for-bulk-work.md.
 */
export interface ImportStaging {
  /** Stages rows (a line staged before is kept as it was). */
  stage(runId: string, rows: readonly StagedLink[]): Promise<void>;
  /** Removes every staged row of the run (links it inserted stay). */
  clear(runId: string): Promise<void>;
  /** Of `keys`, those that are link keys here, with their owner and URL. */
  existing(keys: readonly string[]): Promise<Map<string, { url: string; accountId: number }>>;
  /**
   * Moves up to `limit` staged rows (in line order, after `afterLine`) into links in ONE
   * transaction: each row becomes a link, or a conflict when its key was taken meanwhile.
   * Returns what it did and the last line it looked at; nothing when none are left.
   */
  insertStaged(runId: string, limit: number, afterLine?: number): Promise<{ inserted: string[]; conflicts: StagedConflict[]; lastLine: number }>;
  /** Keys of the links the run inserted here (and has not removed). */
  insertedKeys(runId: string): Promise<string[]>;
  /** Rows of the run whose key was taken when they were moved. */
  conflicts(runId: string): Promise<StagedConflict[]>;
  /**
   * Deletes up to `limit` links the run inserted (by link id) and marks their rows, in ONE
   * transaction. Returns the deleted keys; none when nothing is left to remove.
   */
  removeInserted(runId: string, limit: number): Promise<string[]>;
  /** Rows of the run by state (`staged`, `inserted`, `conflict`, `compensated`). */
  counts(runId: string): Promise<Record<string, number>>;
}

/** An account's links on ONE database, deleted a batch at a time (account deletion). */
export interface AccountLinks {
  /** Deletes up to `limit` of the account's links; returns their keys (none: nothing left). */
  deleteSome(accountId: number, limit: number): Promise<string[]>;
}

/** One database links live on: the only one, or a shard. */
export interface LinkPartition {
  staging: ImportStaging;
  accountLinks: AccountLinks;
}

/** The databases links spread over: one (`main`), or the shards (`s0`, `s1`, … by the key's owner). */
export interface LinkPartitions {
  /** Partition names in a fixed order. */
  readonly names: readonly string[];
  partitionOf(key: string): string;
  get(name: string): LinkPartition;
  /**
   * Why no run may start or resume now, if so: a shard is being added, or was added since
   * these partitions were laid out (a run's steps are one per partition; the process must be
   * restarted to take the new shard).
   */
  unavailable?(): string | undefined;
}

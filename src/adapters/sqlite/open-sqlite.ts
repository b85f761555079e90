import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from '../sql/schema.js';
import { cachingDatabase } from './statement-cache.js';
import { INLINE_AUTOCHECKPOINT_PAGES } from './wal-checkpointer.js';

export interface SqliteHandle {
  db: Kysely<Database>;
  /** The better-sqlite3 connection under `db`, for adapters that run raw prepared statements. */
  raw: SqliteDatabase.Database;
  close(): Promise<void>;
}

/**
 * Opens (creating if needed) a SQLite database with the pragmas tny relies on: WAL so readers
 * never block the writer, foreign keys for ON DELETE CASCADE, and a busy timeout so a second
 * process waits for the write lock instead of failing at once. Kysely prepares each SQL text
 * once (see cachingDatabase).
 */
export function openSqlite(file: string, options: { synchronous?: 'normal' | 'full' } = {}): SqliteHandle {
  const inMemory = file === ':memory:';
  if (!inMemory) mkdirSync(dirname(file), { recursive: true });
  const database = new SqliteDatabase(file);
  try {
    if (!inMemory) database.pragma('journal_mode = WAL');
    // NORMAL: a process crash loses nothing committed; a power loss may roll back the last
    // transactions (never corrupts). FULL syncs every commit and survives that too.
    database.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    database.pragma('foreign_keys = ON');
    database.pragma('busy_timeout = 5000');
    // Checkpoint the WAL every ~16 MB instead of ~4 MB: click flushes touch random pages,
    // and fewer checkpoints rewrite each page fewer times (ADR 5).
    // `tny serve` moves checkpoints to a worker thread (WalCheckpointer, ADR 12).
    if (!inMemory) database.pragma(`wal_autocheckpoint = ${INLINE_AUTOCHECKPOINT_PAGES}`);
  } catch (error) {
    database.close();
    throw error;
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingDatabase(database) }) });
  let closed = false;
  return {
    db,
    raw: database,
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}

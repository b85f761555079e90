import { join } from 'node:path';
import type SqliteDatabase from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { ShardSet } from '../sharding/shard-set.js';
import { openPostgres } from '../postgres/open-postgres.js';
import { openSqlite } from '../sqlite/open-sqlite.js';
import { migrateToLatest } from './migrations.js';
import type { Database, SqlDialectName } from './schema.js';

export interface OpenDatabaseOptions {
  /** PostgreSQL URL; when unset, SQLite at `${dataDir}/tny.db`. */
  databaseUrl?: string;
  dataDir: string;
  poolSize: number;
  /** SQLite's `synchronous` pragma (default normal). */
  sqliteSynchronous?: 'normal' | 'full';
  onIdleError?: (err: Error) => void;
}

export interface OpenedDatabase {
  db: Kysely<Database>;
  dialect: SqlDialectName;
  /** The better-sqlite3 connection under `db` when the dialect is sqlite. */
  sqlite?: SqliteDatabase.Database;
  /** Set when links are sharded (DATABASE_SHARDS): this database is then the home shard, s0. */
  shards?: ShardSet;
  close(): Promise<void>;
}

type OpenedHandle = Pick<OpenedDatabase, 'db' | 'close'> & { raw?: SqliteDatabase.Database };

/** Opens the configured database and brings its schema up to date. */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<OpenedDatabase> {
  const dialect: SqlDialectName = opts.databaseUrl ? 'postgres' : 'sqlite';
  const handle: OpenedHandle = opts.databaseUrl
    ? await openPostgres(opts.databaseUrl, { poolSize: opts.poolSize, onIdleError: opts.onIdleError })
    : openSqlite(join(opts.dataDir, 'tny.db'), { synchronous: opts.sqliteSynchronous });
  try {
    await migrateToLatest(handle.db, dialect);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return { db: handle.db, dialect, sqlite: handle.raw, close: () => handle.close() };
}

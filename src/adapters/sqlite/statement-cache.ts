import type SqliteDatabase from 'better-sqlite3';
import type { SqliteDatabase as KyselySqliteDatabase } from 'kysely';

/** Distinct SQL texts kept prepared; tny issues far fewer, so the cache never churns in practice. */
export const STATEMENT_CACHE_SIZE = 200;

type Statement = SqliteDatabase.Statement<unknown[]>;

/**
 * The database as Kysely's SqliteDialect sees it, preparing each SQL text once instead of on
 * every query (better-sqlite3 statements are reusable). Least recently used statements are
 * dropped beyond `max`. A cached statement that is still busy (an open `iterate()`, i.e. a
 * streamed query) is not handed out again: the caller gets a fresh, uncached one instead.
 */
export function cachingDatabase(database: SqliteDatabase.Database, max = STATEMENT_CACHE_SIZE): KyselySqliteDatabase {
  const cache = new Map<string, Statement>();
  return {
    prepare(sql: string): Statement {
      const hit = cache.get(sql);
      if (hit !== undefined) {
        if (hit.busy) return database.prepare(sql);
        // Map order is insertion order: re-inserting marks the statement most recently used.
        cache.delete(sql);
        cache.set(sql, hit);
        return hit;
      }
      const statement = database.prepare(sql);
      cache.set(sql, statement);
      if (cache.size > max) cache.delete(cache.keys().next().value as string);
      return statement;
    },
    close(): void {
      cache.clear();
      database.close();
    },
  };
}

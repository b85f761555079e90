import { sql, type RawBuilder } from 'kysely';
import type { SqlDialectName } from './schema.js';

/**
 * Rows per multi-row INSERT. With at most 14 columns a chunk binds ≤ 7,000 parameters,
 * far below SQLite's 32,766 and PostgreSQL's 65,535.
 */
export const INSERT_CHUNK_ROWS = 500;

export function chunks<T>(items: readonly T[], size = INSERT_CHUNK_ROWS): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * A text column compared byte-wise (code point order), as SQLite's default BINARY collation
 * does, so ordering and keyset comparisons agree on both engines whatever the PostgreSQL
 * database's locale.
 */
export function binaryText(dialect: SqlDialectName, column: string): RawBuilder<string> {
  return dialect === 'postgres' ? sql<string>`${sql.ref(column)} collate "C"` : sql<string>`${sql.ref(column)}`;
}

/** The comparison JS code uses for the same order (identical for the ASCII/BMP text tny stores). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `%`, `_` and the escape character `!` made literal for `LIKE ... ESCAPE '!'`. */
export function likeContains(text: string): string {
  return `%${text.replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

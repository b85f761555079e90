import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import type { Database } from '../sql/schema.js';

export interface PostgresHandle {
  db: Kysely<Database>;
  close(): Promise<void>;
}

export interface PostgresOptions {
  poolSize?: number;
  /** Schema to use (created if missing) instead of the user's default search_path. */
  schema?: string;
  /** Told about errors of idle pooled connections (they are dropped, not fatal). */
  onIdleError?: (err: Error) => void;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * int8 (BIGINT: ids, epoch-ms times, counts) and numeric (SUM of bigint) parse to JS numbers,
 * for this pool only: the process-wide `pg.types` stay untouched. All values tny stores fit
 * in 2^53.
 */
const numberTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export async function openPostgres(url: string, opts: PostgresOptions = {}): Promise<PostgresHandle> {
  const { schema, poolSize = 10 } = opts;
  if (schema !== undefined) {
    if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid PostgreSQL schema name: ${JSON.stringify(schema)}`);
    await createSchema(url, schema);
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    types: numberTypes,
    ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle pooled connection can fail (server restart, admin termination); without a
  // listener that error would crash the process. The pool drops the client and goes on.
  pool.on('error', (err) => opts.onIdleError?.(err));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let closed = false;
  return {
    db,
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}

async function createSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } catch (error) {
    // Two processes creating the same schema at once: the loser sees a duplicate.
    const code = (error as { code?: string }).code;
    if (code !== '23505' && code !== '42P06') throw error;
  } finally {
    await client.end();
  }
}

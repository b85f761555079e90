import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type SqliteDatabase from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, it } from 'vitest';
import { openPostgres } from '../../src/adapters/postgres/open-postgres.js';
import { migrateToLatest } from '../../src/adapters/sql/migrations.js';
import type { Database, SqlDialectName } from '../../src/adapters/sql/schema.js';
import { openSqlite } from '../../src/adapters/sqlite/open-sqlite.js';
import { ShardedLinkRepository } from '../../src/adapters/sharding/sharded-link-repository.js';
import { ShardSet, type Shard } from '../../src/adapters/sharding/shard-set.js';
import { KyselyLinkRepository } from '../../src/adapters/sql/kysely-link-repository.js';
import { groupCommitFor } from '../../src/adapters/sqlite/group-commit.js';
import { SqliteLinkRepository } from '../../src/adapters/sqlite/sqlite-link-repository.js';
import type { LinkRepository } from '../../src/shortener/ports.js';

/** Where a database lives, so another connection or process can reach the same one. */
export type DatabaseLocation = { dialect: 'sqlite'; file: string } | { dialect: 'postgres'; url: string; schema: string };

export interface Connection {
  db: Kysely<Database>;
  /** The better-sqlite3 connection under `db` (SQLite only). */
  raw?: SqliteDatabase.Database;
  close(): Promise<void>;
}

/** A fresh, migrated database that nothing else uses. */
export interface TestDatabase extends Connection {
  dialect: SqlDialectName;
  location: DatabaseLocation;
  /** A second, independent connection (pool) to the same database; closed with this one. */
  connectAgain(): Promise<Connection>;
}

export interface DatabaseFactory {
  name: SqlDialectName;
  open(): Promise<TestDatabase>;
}

/** PostgreSQL pools in tests are big enough for real concurrency. */
const PG_POOL_SIZE = 8;

export function connect(location: DatabaseLocation): Promise<Connection> {
  return location.dialect === 'sqlite'
    ? Promise.resolve(openSqlite(location.file))
    : openPostgres(location.url, { schema: location.schema, poolSize: PG_POOL_SIZE });
}

async function openFresh(location: DatabaseLocation, dispose: () => Promise<void>): Promise<TestDatabase> {
  const extra: Connection[] = [];
  const main = await connect(location);
  const migrate = () => migrateToLatest(main.db, location.dialect);
  try {
    await (location.dialect === 'postgres' ? withSchemaLock(location.url, 'shared', migrate) : migrate());
  } catch (error) {
    await main.close();
    await dispose();
    throw error;
  }
  return {
    db: main.db,
    raw: main.raw,
    dialect: location.dialect,
    location,
    async connectAgain() {
      const c = await connect(location);
      extra.push(c);
      return c;
    },
    async close() {
      for (const c of extra) await c.close();
      await main.close();
      await dispose();
    },
  };
}

export const sqliteFactory: DatabaseFactory = {
  name: 'sqlite',
  open() {
    const dir = mkdtempSync(join(tmpdir(), 'tny-sqlite-'));
    return openFresh({ dialect: 'sqlite', file: join(dir, 'tny.db') }, async () => {
      rmSync(dir, { recursive: true, force: true });
    });
  },
};

export function postgresFactory(url: string): DatabaseFactory {
  return {
    name: 'postgres',
    open() {
      const schema = `tny_t_${randomBytes(6).toString('hex')}`;
      return openFresh({ dialect: 'postgres', url, schema }, () => dropSchema(url, schema));
    },
  };
}

function dropSchema(url: string, schema: string): Promise<void> {
  return withSchemaLock(url, 'exclusive', async (client) => {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });
}

/** Advisory lock key that orders test-schema drops against migrations (any bigint will do). */
const SCHEMA_LOCK_KEY = '7461790001';

/**
 * Kysely's migrator introspects the tables of every schema in the database, and that query
 * fails if another test file drops its schema at the same moment. Migrations hold this lock
 * shared (they may run together), drops hold it exclusively.
 */
export async function withSchemaLock<T>(url: string, mode: 'shared' | 'exclusive', fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const suffix = mode === 'shared' ? '_shared' : '';
  try {
    await client.query(`select pg_advisory_lock${suffix}($1)`, [SCHEMA_LOCK_KEY]);
    try {
      return await fn(client);
    } finally {
      await client.query(`select pg_advisory_unlock${suffix}($1)`, [SCHEMA_LOCK_KEY]);
    }
  } finally {
    await client.end();
  }
}

/**
 * Registers `body` once per adapter: SQLite always, PostgreSQL when DATABASE_URL_TEST is set.
 * Without it the PostgreSQL variant is left out with a printed notice, or, under
 * TNY_REQUIRE_SERVICES=1 (CI), replaced by a failing test.
 */
export function describeEachDatabase(title: string, body: (factory: DatabaseFactory) => void): void {
  describe(`${title} [sqlite]`, () => body(sqliteFactory));
  const url = process.env.DATABASE_URL_TEST;
  if (url) {
    describe(`${title} [postgres]`, () => body(postgresFactory(url)));
  } else if (process.env.TNY_REQUIRE_SERVICES === '1') {
    describe(`${title} [postgres]`, () => {
      it('has a PostgreSQL to run against', () => {
        throw new Error('DATABASE_URL_TEST is not set but TNY_REQUIRE_SERVICES=1 requires the PostgreSQL contract suites');
      });
    });
  } else {
    console.warn(`[tny] DATABASE_URL_TEST not set: PostgreSQL variant of "${title}" not run`);
  }
}

/** A fresh value per test from `open`, closed after it; the getter throws outside a test. */
function useFreshPerTest<T extends { close(): Promise<void> }>(open: () => Promise<T>, what: string): () => T {
  let current: T | undefined;
  beforeEach(async () => {
    current = await open();
  });
  afterEach(async () => {
    const done = current;
    current = undefined;
    await done?.close();
  });
  return () => {
    if (!current) throw new Error(`no ${what}: call inside a test`);
    return current;
  };
}

/** A fresh database per test, closed (and removed) after it. */
export function useFreshDatabase(factory: DatabaseFactory): () => TestDatabase {
  return useFreshPerTest(() => factory.open(), 'test database');
}

// ---- Sharded PostgreSQL (docs/sharding.md): several fresh schemas as one ShardSet ----

/** A ShardSet over `n` fresh schemas of one PostgreSQL database, each a TestDatabase. */
export interface TestShards {
  shards: TestDatabase[];
  set: ShardSet;
  /** Another set over independent pools to the same shards (as a second process would have). */
  connectAgain(): Promise<ShardSet>;
  close(): Promise<void>;
}

function asShards(dbs: { db: Kysely<Database> }[]): Shard[] {
  return dbs.map((d, index) => ({
    name: `s${index}`,
    index,
    label: `test shard s${index}`,
    database: { db: d.db, dialect: 'postgres' as const, close: async () => {} },
  }));
}

export async function openTestShards(url: string, n: number): Promise<TestShards> {
  const factory = postgresFactory(url);
  const shards: TestDatabase[] = [];
  try {
    for (let i = 0; i < n; i++) shards.push(await factory.open());
    const set = await ShardSet.prepare(asShards(shards));
    return {
      shards,
      set,
      async connectAgain() {
        return ShardSet.prepare(asShards(await Promise.all(shards.map((s) => s.connectAgain()))));
      },
      async close() {
        for (const s of shards) await s.close();
      },
    };
  } catch (error) {
    for (const s of shards) await s.close();
    throw error;
  }
}

/** Shards the sharded suites use: three, as in a small real deployment. */
export const TEST_SHARD_COUNT = 3;

/**
 * Registers `body` against a 3-shard set when DATABASE_URL_TEST is set (a failing test under
 * TNY_REQUIRE_SERVICES=1 when it is not), like the PostgreSQL half of describeEachDatabase.
 */
export function describeSharded(title: string, body: (open: () => Promise<TestShards>) => void): void {
  const url = process.env.DATABASE_URL_TEST;
  if (url) {
    describe(`${title} [postgres x${TEST_SHARD_COUNT} shards]`, () => body(() => openTestShards(url, TEST_SHARD_COUNT)));
  } else if (process.env.TNY_REQUIRE_SERVICES === '1') {
    describe(`${title} [postgres x${TEST_SHARD_COUNT} shards]`, () => {
      it('has a PostgreSQL to run against', () => {
        throw new Error('DATABASE_URL_TEST is not set but TNY_REQUIRE_SERVICES=1 requires the sharded suites');
      });
    });
  } else {
    console.warn(`[tny] DATABASE_URL_TEST not set: sharded variant of "${title}" not run`);
  }
}

/** A link store for the LinkRepository contract suites: one database, or a shard set. */
export interface LinkStore {
  links: LinkRepository;
  dialect: SqlDialectName;
  /** The database that holds (or would hold) `key`. */
  databaseOf(key: string): TestDatabase;
  /** Every database of the store. */
  databases: TestDatabase[];
  /** A repository over independent connections to the same store. */
  connectAgain(): Promise<LinkRepository>;
  close(): Promise<void>;
}

export interface LinkStoreFactory {
  name: string;
  open(): Promise<LinkStore>;
}

/** The repository tny wires for one database: prepared statements and group commit on SQLite. */
function linkRepository(c: Connection): LinkRepository {
  return c.raw ? new SqliteLinkRepository(c.db, c.raw, groupCommitFor(c.db, c.raw)) : new KyselyLinkRepository(c.db, 'postgres');
}

function singleStore(factory: DatabaseFactory): LinkStoreFactory {
  return {
    name: factory.name,
    async open() {
      const d = await factory.open();
      return {
        links: linkRepository(d),
        dialect: d.dialect,
        databaseOf: () => d,
        databases: [d],
        connectAgain: async () => linkRepository(await d.connectAgain()),
        close: () => d.close(),
      };
    },
  };
}

/** Tables emptied between tests of a reused shard set (the shard identity in `settings` stays). */
async function emptyLinkTables(db: Kysely<Database>): Promise<void> {
  const tables = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = current_schema() and table_type = 'BASE TABLE'
      and table_name not in ('settings', 'tny_migrations', 'tny_migrations_lock')`.execute(db);
  if (tables.rows.length === 0) return;
  // No RESTART IDENTITY: the link id sequences keep their interleaving (shard-ids.ts).
  await sql`truncate table ${sql.join(tables.rows.map((t) => sql.id(t.name)))} cascade`.execute(db);
}

/**
 * A 3-shard store, made once per suite (three schemas and their migrations cost seconds) and
 * emptied before each test; `done()` drops it after the suite.
 */
function shardedStore(url: string): LinkStoreFactory & { done(): Promise<void> } {
  let shared: Promise<TestShards> | undefined;
  return {
    name: `postgres x${TEST_SHARD_COUNT} shards`,
    async open() {
      const t = await (shared ??= openTestShards(url, TEST_SHARD_COUNT));
      for (const shard of t.shards) await emptyLinkTables(shard.db);
      const extra: Connection[] = [];
      return {
        links: new ShardedLinkRepository(t.set),
        dialect: 'postgres',
        databaseOf: (key) => t.shards[t.set.shardFor(key).index]!,
        databases: t.shards,
        async connectAgain() {
          const conns = await Promise.all(t.shards.map((s) => connect(s.location)));
          extra.push(...conns);
          return new ShardedLinkRepository(await ShardSet.prepare(asShards(conns)));
        },
        async close() {
          for (const c of extra.splice(0)) await c.close();
        },
      };
    },
    async done() {
      const t = await shared;
      shared = undefined;
      await t?.close();
    },
  };
}

/** Registers `body` for SQLite, PostgreSQL and a 3-shard PostgreSQL set (the latter two as describeEachDatabase). */
export function describeEachLinkStore(title: string, body: (factory: LinkStoreFactory) => void): void {
  describeEachDatabase(title, (factory) => body(singleStore(factory)));
  describeSharded(title, () => {
    const factory = shardedStore(process.env.DATABASE_URL_TEST!);
    afterAll(() => factory.done());
    body(factory);
  });
}

/** A fresh link store per test. */
export function useFreshLinkStore(factory: LinkStoreFactory): () => LinkStore {
  return useFreshPerTest(() => factory.open(), 'link store');
}

/** Databases made by createTestDatabases. */
export interface EmptiedDatabases {
  urls: string[];
  /** Empties every table but settings and the migrations' (a no-op before first use). */
  empty(): Promise<void>;
  drop(): Promise<void>;
}

/**
 * `n` new, empty PostgreSQL databases on the server of `url` (DATABASE_SHARDS takes URLs, so
 * shards given to a whole app are real databases), with `drop()` to remove them and `empty()`
 * to reuse them for another app without creating and migrating new ones.
 */
export async function createTestDatabases(url: string, n: number): Promise<EmptiedDatabases> {
  const base = `tny_shards_${randomBytes(4).toString('hex')}`;
  const names = Array.from({ length: n }, (_, i) => `${base}_${i}`);
  const withClient = async (connectionString: string, fn: (c: pg.Client) => Promise<void>) => {
    const client = new pg.Client({ connectionString });
    await client.connect();
    try {
      await fn(client);
    } finally {
      await client.end();
    }
  };
  await withClient(url, async (c) => {
    for (const name of names) await c.query(`create database "${name}"`);
  });
  const urls = names.map((name) => {
    const u = new URL(url);
    u.pathname = `/${name}`;
    u.password = 'sekret'; // trust auth ignores it; nothing may ever show it
    return u.toString();
  });
  return {
    urls,
    async empty() {
      for (const u of urls) {
        await withClient(u, async (c) => {
          const { rows } = await c.query<{ name: string }>(
            `select table_name as name from information_schema.tables
             where table_schema = 'public' and table_type = 'BASE TABLE'
               and table_name not in ('settings', 'tny_migrations', 'tny_migrations_lock')`,
          );
          // No RESTART IDENTITY: link id sequences keep their interleaving (shard-ids.ts).
          if (rows.length > 0) await c.query(`truncate table ${rows.map((r) => `"${r.name}"`).join(', ')} cascade`);
        });
      }
    },
    drop: () =>
      withClient(url, async (c) => {
        for (const name of names) await c.query(`drop database if exists "${name}" with (force)`);
      }),
  };
}

import { ShardedDeliveryLedger } from '../../src/adapters/sharding/sharded-delivery-ledger.js';
import { ShardedInbox } from '../../src/adapters/sharding/sharded-inbox.js';
import { shardedNotifierStores } from '../../src/adapters/sharding/sharded-notifier-stores.js';
import type { ShardSet } from '../../src/adapters/sharding/shard-set.js';
import { KyselyDeliveryLedger } from '../../src/adapters/sql/kysely-delivery-ledger.js';
import { KyselyInbox } from '../../src/adapters/sql/kysely-inbox.js';
import { kyselyNotifierStores } from '../../src/adapters/sql/kysely-notifier-stores.js';
import type { Database, SqlDialectName } from '../../src/adapters/sql/schema.js';
import type { InboxRepository } from '../../src/notifier/inbox/inbox.js';
import { recipientRoute, routeDigits } from '../../src/notifier/notifications/ids.js';
import type { DeliveryLedger } from '../../src/notifier/notifications/ledger.js';
import type { NotifierStores } from '../../src/notifier/ports.js';
import type { Kysely } from 'kysely';
import { describeEachDatabase, describeSharded, type DatabaseFactory, type TestDatabase, type TestShards } from './databases.js';

/** The notifier's ports over one storage: a database, or a shard set. */
export interface NotifierPorts {
  stores: NotifierStores;
  ledger: DeliveryLedger;
  inbox: InboxRepository;
}

/** A notifier storage for the contract suites (a fresh one per open). */
export interface NotifierStore extends NotifierPorts {
  dialect: SqlDialectName;
  sharded: boolean;
  /** Every database that holds notifier rows (one, or each shard). */
  databases: TestDatabase[];
  /** The same storage over independent pools, as another process has (PostgreSQL only). */
  connectAgain(): Promise<NotifierPorts>;
  close(): Promise<void>;
}

export interface NotifierStoreFactory {
  name: string;
  open(): Promise<NotifierStore>;
}

function onDatabase(db: Kysely<Database>, dialect: SqlDialectName): NotifierPorts {
  return { stores: kyselyNotifierStores({ db, dialect }), ledger: new KyselyDeliveryLedger(db, dialect), inbox: new KyselyInbox(db) };
}

/** The sharded wrappers over a set (what container.ts wires with DATABASE_SHARDS). */
export function onShards(set: ShardSet): NotifierPorts {
  return { stores: shardedNotifierStores(set), ledger: new ShardedDeliveryLedger(set), inbox: new ShardedInbox(set) };
}

function single(factory: DatabaseFactory): NotifierStoreFactory {
  return {
    name: factory.name,
    async open() {
      const d = await factory.open();
      return {
        ...onDatabase(d.db, d.dialect),
        dialect: d.dialect,
        sharded: false,
        databases: [d],
        connectAgain: async () => onDatabase((await d.connectAgain()).db, d.dialect),
        close: () => d.close(),
      };
    },
  };
}

function sharded(openShards: () => Promise<TestShards>): NotifierStoreFactory {
  return {
    name: 'postgres shards',
    async open() {
      const t = await openShards();
      return {
        ...onShards(t.set),
        dialect: 'postgres',
        sharded: true,
        databases: t.shards,
        connectAgain: async () => onShards(await t.connectAgain()),
        close: () => t.close(),
      };
    },
  };
}

/**
 * Registers `body` for SQLite, PostgreSQL and a 3-shard PostgreSQL set behind the sharded
 * wrappers (the latter two as describeEachDatabase / describeSharded).
 */
export function describeEachNotifierStore(title: string, body: (factory: NotifierStoreFactory) => void): void {
  describeEachDatabase(title, (factory) => body(single(factory)));
  describeSharded(title, (openShards) => body(sharded(openShards)));
}

/**
 * A notification id as send.ts mints them (the recipient's ring position after the time), with
 * `seq` in place of the time and no randomness: ids sort by `seq`, and route to the recipient's shard.
 */
export function testNotificationId(accountId: number, recipientId: string, seq: number): string {
  return `ntf_${seq.toString(36).padStart(9, '0')}${routeDigits(recipientRoute(accountId, recipientId))}${'0'.repeat(10)}`;
}

import type { Logger } from 'pino';
import { KyselyAccountLinks, KyselyAccountRecords, KyselyNotifierAccountData } from '../adapters/sql/kysely-account-deletion.js';
import { KyselyImportStaging } from '../adapters/sql/kysely-import-staging.js';
import { KyselySagaLog } from '../adapters/sql/kysely-saga-log.js';
import type { OpenedDatabase } from '../adapters/sql/open-database.js';
import type { Config } from '../config/config.js';
import type { Clock } from '../platform/clock.js';
import { killFaults, type Faults } from '../platform/faults.js';
import { SagaRunner } from '../platform/saga/runner.js';
import type { ShortenerContext } from '../shortener/context.js';
import type { LinkPartition, LinkPartitions } from '../shortener/import-staging.js';
import { DELETE_ACCOUNT_SAGA, deleteAccountSaga, type DeleteAccountInput, type NotifierAccountData } from '../shortener/use-cases/delete-account.js';
import { importSaga } from '../shortener/use-cases/import-saga.js';

/** The saga runner with tny's sagas defined, and what their use cases need to start runs. */
export interface Sagas {
  runner: SagaRunner;
  partitions: LinkPartitions;
  faults: Faults;
}

/**
 * Where links live, as partitions: the shards (`s0`, `s1`, … owning keys by the ring), or the one
 * database (`main`). The same saga code runs on both, so the embedded default gets crash-safe
 * imports too.
 */
export function linkPartitions(database: OpenedDatabase): LinkPartitions {
  const make = (db: OpenedDatabase['db']): LinkPartition => ({ staging: new KyselyImportStaging(db, database.dialect), accountLinks: new KyselyAccountLinks(db) });
  const set = database.shards;
  if (!set) {
    const main = make(database.db);
    return { names: ['main'], partitionOf: () => 'main', get: () => main };
  }
  const byName = new Map(set.shards.map((s) => [s.name, make(s.database.db)]));
  const names = set.shards.map((s) => s.name);
  return {
    names,
    unavailable: () => {
      if (set.migrating) return 'a shard is being added (tny shards add); try again when it has finished';
      if (set.size !== names.length) return `the shard set has ${set.size} shards since this process started with ${names.length}; restart it to import or delete accounts`;
      return undefined;
    },
    partitionOf: (key) => set.shardFor(key).name,
    get: (name) => {
      const p = byName.get(name);
      if (!p) throw new Error(`no shard is named ${name}`);
      return p;
    },
  };
}

/** The step log lives on the home database (s0 when sharded), with accounts. */
export function createSagas(config: Config, database: OpenedDatabase, shortener: ShortenerContext, clock: Clock, logger: Logger): Sagas {
  const faults = killFaults(config.TNY_FAULT_KILL);
  const runner = new SagaRunner({
    log: new KyselySagaLog(database.db),
    clock,
    faults,
    onEvent: (e) => {
      const fields = { run_id: e.runId, saga: e.saga, step: e.step, ...(e.error !== undefined ? { err: e.error } : {}) };
      if (e.error !== undefined) logger.warn(fields, `saga: ${e.event}`);
      else logger.debug(fields, `saga: ${e.event}`);
    },
  });
  const partitions = linkPartitions(database);
  const records = new KyselyAccountRecords(database.db);
  runner.define(
    importSaga(shortener, partitions, faults, async (accountId) => {
      const deleting = (await runner.unfinished()).find((r) => r.name === DELETE_ACCOUNT_SAGA && (r.input as DeleteAccountInput).accountId === accountId);
      if (deleting) return `its deletion (run ${deleting.id}) is unfinished`;
      return (await records.exists(accountId)) ? undefined : 'it no longer exists';
    }),
  );
  runner.define(
    deleteAccountSaga({
      records,
      notifier: notifierAccountData(database),
      partitions,
      cache: shortener.cache,
      clock,
      unfinished: () => runner.unfinished(),
      authCacheMs: config.AUTH_CACHE_TTL_SECONDS * 1000,
    }),
  );
  return { runner, partitions, faults };
}

/**
 * An account's notifier data: per-recipient rows are on their recipient's shard (ADR 10), so
 * every shard of the set (as it is at the call) is cleared, each in its own idempotent
 * transaction; categories and templates are on s0 with the rest.
 */
function notifierAccountData(database: OpenedDatabase): NotifierAccountData {
  const set = database.shards;
  if (!set) return new KyselyNotifierAccountData(database.db);
  return {
    async deleteAccountData(accountId) {
      for (const shard of set.shards) await new KyselyNotifierAccountData(shard.database.db).deleteAccountData(accountId);
    },
  };
}

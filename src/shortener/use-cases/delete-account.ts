import type { Account } from '../../platform/auth/ports.js';
import type { Actor } from '../../platform/auth/actor.js';
import type { Clock } from '../../platform/clock.js';
import { TnyError } from '../../platform/errors.js';
import { PermanentError } from '../../platform/resilience/errors.js';
import type { SagaDefinition, SagaRun, SagaStep } from '../../platform/saga/types.js';
import type { LinkCache } from '../link-cache.js';
import type { LinkPartitions } from '../import-staging.js';
import { IMPORT_SAGA, type ImportInput } from './import-saga.js';

export const DELETE_ACCOUNT_SAGA = 'delete-account';

/** The account's rows on the home database. */
export interface AccountRecords {
  /** Revokes the account's active keys with `stamp` as their revocation time; how many. */
  revokeKeys(accountId: number, stamp: number): Promise<number>;
  /** Un-revokes the keys revoked with `stamp`. */
  restoreKeys(accountId: number, stamp: number): Promise<number>;
  deleteIdempotencyKeys(accountId: number): Promise<number>;
  /** Deletes the account's keys and the account row. */
  deleteAccount(accountId: number): Promise<void>;
}

/** Everything the notifier keeps for an account (one port, so it can move with the notifier's data). */
export interface NotifierAccountData {
  deleteAccountData(accountId: number): Promise<void>;
}

export type DeleteAccountInput = {
  accountId: number;
  name: string;
  /** When the run began: the revocation time of the keys it revokes (how they are found again). */
  stamp: number;
};

export interface AccountDeletionDeps {
  records: AccountRecords;
  notifier: NotifierAccountData;
  partitions: LinkPartitions;
  cache: Pick<LinkCache, 'invalidate'>;
  clock: Clock;
  /** Unfinished runs (to refuse while an import into the account is unfinished). */
  unfinished(): Promise<SagaRun[]>;
  /** How long other processes may still trust a revoked key (AUTH_CACHE_TTL_SECONDS), in ms. */
  authCacheMs: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Links deleted per statement. */
const DELETE_BATCH = 1000;

/**
 * Deleting an account as a saga (docs/adr/0009-sagas-for-bulk-work.md):
 *   revoke-keys       revokes its API keys first, so no new writes come in.
 *                     Compensation: restores the keys this run revoked.
 *   quiesce           refuses (for good: the keys come back) while an import into the account is
 *                     unfinished, and waits out the auth cache so no process still accepts a key.
 *   delete-links-<p>  per partition, 1,000 links per statement until none is left.  ┐ forward-only:
 *   delete-notifier-data                                                           │ deleted rows
 *   delete-idempotency-keys                                                        │ cannot come
 *   delete-account    its keys and the account row.                                ┘ back; retried
 * Every step is idempotent: a repeat revokes, deletes or waits for nothing more.  until done.
 */
export function deleteAccountSaga(deps: AccountDeletionDeps): SagaDefinition<DeleteAccountInput> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const revoke: SagaStep<DeleteAccountInput> = {
    name: 'revoke-keys',
    async run(input) {
      await deps.records.revokeKeys(input.accountId, input.stamp);
    },
    async compensate(input) {
      await deps.records.restoreKeys(input.accountId, input.stamp);
    },
  };
  const quiesce: SagaStep<DeleteAccountInput> = {
    name: 'quiesce',
    async run(input) {
      const busy = (await deps.unfinished()).find((r) => r.name === IMPORT_SAGA && (r.input as ImportInput).accountId === input.accountId);
      if (busy) throw new PermanentError(`import run ${busy.id} into the account is unfinished; resume it (tny sagas resume) and delete again`);
      const wait = input.stamp + deps.authCacheMs - deps.clock.now();
      if (wait > 0) await sleep(wait);
    },
  };
  const deleteLinks = (name: string): SagaStep<DeleteAccountInput> => ({
    name: `delete-links-${name}`,
    forwardOnly: true,
    async run(input) {
      const links = deps.partitions.get(name).accountLinks;
      for (;;) {
        const keys = await links.deleteSome(input.accountId, DELETE_BATCH);
        for (const key of keys) await deps.cache.invalidate(key);
        if (keys.length < DELETE_BATCH) break;
      }
    },
  });
  const forward = (name: string, fn: (input: DeleteAccountInput) => Promise<unknown>): SagaStep<DeleteAccountInput> => ({
    name,
    forwardOnly: true,
    async run(input) {
      await fn(input);
    },
  });
  return {
    name: DELETE_ACCOUNT_SAGA,
    steps: [
      revoke,
      quiesce,
      ...deps.partitions.names.map(deleteLinks),
      forward('delete-notifier-data', (i) => deps.notifier.deleteAccountData(i.accountId)),
      forward('delete-idempotency-keys', (i) => deps.records.deleteIdempotencyKeys(i.accountId)),
      forward('delete-account', (i) => deps.records.deleteAccount(i.accountId)),
    ],
  };
}

export interface DeletionStarter {
  findAccountById(id: number): Promise<Account | undefined>;
  findAccountByName(name: string): Promise<Account | undefined>;
  sagas: {
    get(id: string): Promise<SagaRun | undefined>;
    start(name: string, id: string, input: DeleteAccountInput): Promise<SagaRun>;
    unfinished(): Promise<SagaRun[]>;
  };
  clock: Clock;
  /** Why no deletion may start now (the shard set is changing: LinkPartitions.unavailable). */
  unavailable?: () => string | undefined;
}

export function deleteAccountRunId(accountId: number, attempt = 1): string {
  return `delete-account:${accountId}${attempt > 1 ? `:${attempt}` : ''}`;
}

/**
 * Starts (or finds) the run deleting an account, by id or name, as an admin. Asking again for an
 * account whose deletion is under way (or done) gives the same run; after a failed run (its keys
 * were restored) a new one starts. The caller drives the run (the CLI waits, HTTP answers 202).
 */
export async function startAccountDeletion(
  deps: DeletionStarter,
  actor: Actor,
  target: { id: number } | { name: string },
): Promise<{ run: SagaRun; created: boolean }> {
  if (!actor.isAdmin) throw new TnyError('FORBIDDEN', { message: 'only admin keys may delete accounts' });
  const account = 'id' in target ? await deps.findAccountById(target.id) : await deps.findAccountByName(target.name);
  if (!account) {
    // Gone already, perhaps by a run of ours that has not finished (or has: it was deleted).
    const runs = await deps.sagas.unfinished();
    const pending = runs.find((r) => r.name === DELETE_ACCOUNT_SAGA && matches(r.input as DeleteAccountInput, target));
    if (pending) return { run: pending, created: false };
    if ('id' in target) {
      const run = await latestRun(deps, target.id);
      if (run) return { run, created: false };
    }
    throw new TnyError('ACCOUNT_NOT_FOUND', { message: 'id' in target ? `no account has the id ${target.id}` : `no account is named "${target.name}"` });
  }
  if (account.isAdmin) throw new TnyError('ACCOUNT_NOT_DELETABLE', { message: `"${account.name}" is an admin account; admin accounts are not deleted this way` });
  const busy = deps.unavailable?.();
  if (busy) throw new TnyError('SHARDS_CHANGING', { message: `account deletion cannot start now: ${busy}` });
  for (let attempt = 1; ; attempt++) {
    const id = deleteAccountRunId(account.id, attempt);
    const run = await deps.sagas.get(id);
    if (run && run.state === 'failed') continue;
    if (run) return { run, created: false };
    return { run: await deps.sagas.start(DELETE_ACCOUNT_SAGA, id, { accountId: account.id, name: account.name, stamp: deps.clock.now() }), created: true };
  }
}

function matches(input: DeleteAccountInput, target: { id: number } | { name: string }): boolean {
  return 'id' in target ? input.accountId === target.id : input.name === target.name;
}

/** The last run for the account id (done or failed), if any. */
async function latestRun(deps: DeletionStarter, accountId: number): Promise<SagaRun | undefined> {
  let last: SagaRun | undefined;
  for (let attempt = 1; ; attempt++) {
    const run = await deps.sagas.get(deleteAccountRunId(accountId, attempt));
    if (!run) return last;
    last = run;
  }
}

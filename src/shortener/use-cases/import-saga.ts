import { noFaults, type Faults } from '../../platform/faults.js';
import { PermanentError } from '../../platform/resilience/errors.js';
import type { SagaDefinition, SagaStep } from '../../platform/saga/types.js';
import type { ShortenerContext } from '../context.js';
import type { LinkPartitions, StagedConflict } from '../import-staging.js';

export const IMPORT_SAGA = 'import-links';

/** A row skipped while planning (kept in the run's input, so a resumed run can report it). */
export type PlannedSkip = {
  line: number;
  code: string;
  message: string;
};

/** The run's input: small JSON; the rows themselves are staged on their partitions. */
export type ImportInput = {
  accountId: number;
  account: string;
  /** SHA-256 of the file: with the account, the run's identity. */
  fileHash: string;
  /** Rows read, rows staged, and the partitions (in order) the steps write to. */
  rows: number;
  staged: number;
  partitions: string[];
  /** Staged rows moved per transaction (--batch). */
  batch: number;
  /** Skips found while planning: counts by code, and the first ones in line order. */
  skipCounts: Record<string, number>;
  firstSkips: PlannedSkip[];
};

/** What an insert step records: links made, and rows whose key was taken meanwhile. */
export type InsertOutput = {
  inserted: number;
  conflicts: StagedConflict[];
};

/**
 * The import saga over `partitions` (docs/adr/0009-sagas-for-bulk-work.md):
 *   plan            the rows were staged before the run began; checks they are all there, and
 *                   that the account exists and is not being deleted.
 *                   Compensation: clears the run's staging everywhere (it runs last).
 *   insert-<p>      one per partition: moves its staged rows into links, `batch` rows per
 *                   transaction that also marks them, so repeating it moves nothing twice;
 *                   then tells the caches about every key it inserted (again after a crash).
 *                   Compensation: deletes the links this run inserted there (by id), marked too.
 *   finish          clears the staging (forward-only: nothing is left to undo then).
 */
export function importSaga(
  ctx: ShortenerContext,
  partitions: LinkPartitions,
  faults: Faults = noFaults,
  /**
   * Why links may not be written for the account, if so: it is gone, or its deletion is
   * unfinished. Checked by `plan`, after this run is on the log: a deletion whose own record
   * came later sees this run in its quiesce step and refuses, so one of the two always stops.
   */
  accountBlocked: (accountId: number) => Promise<string | undefined> = () => Promise.resolve(undefined),
): SagaDefinition<ImportInput> {
  const names = partitions.names;
  const samePartitions = (input: ImportInput) => {
    if (input.partitions.length !== names.length || input.partitions.some((p, i) => p !== names[i])) {
      throw new PermanentError(`the run was planned for databases ${input.partitions.join(',')} but this process has ${names.join(',')}`);
    }
  };
  const plan: SagaStep<ImportInput> = {
    name: 'plan',
    async run(input, { runId }) {
      samePartitions(input);
      const blocked = await accountBlocked(input.accountId);
      if (blocked) throw new PermanentError(`account "${input.account}": ${blocked}`);
      let total = 0;
      for (const name of names) for (const n of Object.values(await partitions.get(name).staging.counts(runId))) total += n as number;
      if (total !== input.staged) throw new PermanentError(`${total} rows are staged for run ${runId}, the plan staged ${input.staged}`);
    },
    async compensate(_input, _output, { runId }) {
      for (const name of names) await partitions.get(name).staging.clear(runId);
    },
  };
  const insert = (name: string): SagaStep<ImportInput> => ({
    name: `insert-${name}`,
    async run(input, { runId }) {
      samePartitions(input);
      const staging = partitions.get(name).staging;
      // A crash may have cut off telling the caches about keys inserted before it.
      for (const key of await staging.insertedKeys(runId)) await ctx.cache.invalidate(key);
      for (let after = 0; ; ) {
        const moved = await staging.insertStaged(runId, input.batch, after);
        if (moved.inserted.length === 0 && moved.conflicts.length === 0) break;
        after = moved.lastLine;
        for (const key of moved.inserted) await ctx.cache.invalidate(key);
        // Between two of the step's transactions: some rows moved, others still staged.
        faults.hit(`import:insert-${name}:batch`);
      }
      const counts = await staging.counts(runId);
      const output: InsertOutput = { inserted: counts.inserted ?? 0, conflicts: await staging.conflicts(runId) };
      return output;
    },
    async compensate(input, _output, { runId }) {
      const staging = partitions.get(name).staging;
      for (;;) {
        const removed = await staging.removeInserted(runId, input.batch);
        if (removed.length === 0) break;
        for (const key of removed) await ctx.cache.invalidate(key);
      }
    },
  });
  const finish: SagaStep<ImportInput> = {
    name: 'finish',
    forwardOnly: true,
    async run(_input, { runId }) {
      for (const name of names) await partitions.get(name).staging.clear(runId);
    },
  };
  return { name: IMPORT_SAGA, steps: [plan, ...names.map(insert), finish] };
}

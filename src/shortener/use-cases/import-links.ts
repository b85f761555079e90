import { createHash } from 'node:crypto';
import type { Actor } from '../../platform/auth/actor.js';
import { TnyError } from '../../platform/errors.js';
import { noFaults, type Faults } from '../../platform/faults.js';
import type { SagaRun } from '../../platform/saga/types.js';
import type { ShortenerContext } from '../context.js';
import type { LinkPartitions } from '../import-staging.js';
import { aliasTaken } from './create-link.js';
import { IMPORT_SAGA, type ImportInput, type InsertOutput } from './import-saga.js';
import { ImportBrokeOff, planImport } from './plan-import.js';

/** One row of an import file: a record, or why the file's syntax gave none. */
export interface ImportRow {
  /** Where the row starts in the file (1-based), for messages. */
  line: number;
  record?: Readonly<Record<string, unknown>>;
  malformed?: string;
}

export interface SkippedRow {
  line: number;
  /**
   * An API error code, or a reason only imports have: EXPIRED, ALREADY_SHORTENED, MALFORMED_ROW,
   * KEY_TAKEN (a generated key was taken by another writer between planning and inserting).
   */
  code: string;
  message: string;
}

export interface ImportOptions {
  /** Staged rows moved into links per transaction (per shard). */
  batchSize: number;
  onSkip(row: SkippedRow): void;
  /** Called once per row read, valid or not. */
  onRow?(): void;
  /** Called before anything is read when the file's run exists: it is resumed, not planned again. */
  onResume?(run: SagaRun): void;
  /**
   * A resumed run's skips from planning (by the process that planned it): counts by code and
   * the first rows. Without it they go to `onSkip` (the first rows only).
   */
  onPlannedSkips?(counts: Readonly<Record<string, number>>, first: readonly SkippedRow[]): void;
}

export interface ImportResult {
  rows: number;
  created: number;
  skipped: number;
}

/** What importing needs besides the shortener: the saga runner and where links live. */
export interface ImportDeps {
  sagas: {
    run(name: string, id: string, input: ImportInput): Promise<SagaRun>;
    get(id: string): Promise<SagaRun | undefined>;
  };
  partitions: LinkPartitions;
  faults?: Faults;
}

/** The file to import: its rows, and its content's SHA-256 (the run's identity with the account). */
export interface ImportSource {
  rows: AsyncIterable<ImportRow>;
  sha256: string;
}

/** The run id of importing a file (by content) into an account; `:2`, `:3`… after failed runs. */
export function importRunId(accountId: number, sha256: string, attempt = 1): string {
  return `import:${accountId}:${sha256.slice(0, 32)}${attempt > 1 ? `:${attempt}` : ''}`;
}

/** The run of this file and account to continue, or the id a new one takes. */
async function findRun(deps: ImportDeps, accountId: number, sha256: string): Promise<{ id: string; run?: SagaRun }> {
  for (let attempt = 1; ; attempt++) {
    const id = importRunId(accountId, sha256, attempt);
    const run = await deps.sagas.get(id);
    // A failed run undid everything it did: importing the file again is a new run.
    if (!run || run.state !== 'failed') return { id, run };
  }
}

/**
 * Imports link records as `actor`, as a saga (docs/adr/0009-sagas-for-bulk-work.md), so a
 * crash never leaves half an import that a re-run would duplicate:
 * 1. plan (plan-import.ts): each row is validated like an API create (`prepareLink`); bad rows are skipped with
 *    a reason; each valid row gets its key ONCE (its alias, or one from the key strategy,
 *    checked free) and is staged on the database that owns the key;
 * 2. the saga (import-saga.ts) moves the staged rows into links per database, idempotently,
 *    and removes what it inserted if a database fails for good.
 * The run id comes from the account and the file's content: importing the same file again
 * resumes its unfinished run (nothing is read or planned again), or reports the finished one.
 */
export async function importLinks(
  ctx: ShortenerContext,
  deps: ImportDeps,
  actor: Actor & { accountName: string },
  source: ImportSource,
  opts: ImportOptions,
): Promise<ImportResult & { runId: string; resumed: boolean; run: SagaRun }> {
  const busy = deps.partitions.unavailable?.();
  if (busy) throw new TnyError('SHARDS_CHANGING', { message: `the import cannot run now: ${busy}` });
  const found = await findRun(deps, actor.accountId, source.sha256);
  if (found.run) {
    opts.onResume?.(found.run);
    const input = found.run.input as ImportInput;
    if (opts.onPlannedSkips) opts.onPlannedSkips(input.skipCounts, input.firstSkips);
    else for (const s of input.firstSkips) opts.onSkip(s);
    const run = await deps.sagas.run(IMPORT_SAGA, found.id, input);
    return { ...report(run, opts), runId: found.id, resumed: true, run };
  }
  // Nothing of this run id exists but perhaps rows a crashed planning staged: start clean.
  for (const name of deps.partitions.names) await deps.partitions.get(name).staging.clear(found.id);
  let input: ImportInput;
  let broken: unknown;
  try {
    input = await planImport(ctx, deps.partitions, actor, found.id, source.rows, opts);
  } catch (err) {
    if (!(err instanceof ImportBrokeOff)) throw err;
    input = err.input;
    broken = err.reason;
  }
  input.fileHash = source.sha256;
  (deps.faults ?? noFaults).hit('import:staged');
  const run = await deps.sagas.run(IMPORT_SAGA, found.id, input);
  const result = report(run, opts);
  // The rows before the break are imported (as before sagas); the break is still an error.
  if (broken !== undefined) throw broken;
  return { ...result, runId: found.id, resumed: false, run };
}

/** Totals of a finished run, reporting its conflicts as skips; a failed run throws why. */
function report(run: SagaRun, opts: ImportOptions): ImportResult {
  const input = run.input as ImportInput;
  if (run.state !== 'done') {
    throw new TnyError('IMPORT_FAILED', { message: `import run ${run.id} failed and everything it inserted was removed: ${run.error ?? 'unknown error'}` });
  }
  let created = 0;
  let conflicts = 0;
  for (const step of run.steps) {
    const out = step.output as InsertOutput | null;
    if (!out || typeof out !== 'object' || !('inserted' in out)) continue;
    created += out.inserted;
    for (const c of out.conflicts) {
      conflicts++;
      opts.onSkip(
        c.isAlias
          ? { line: c.line, code: 'ALIAS_TAKEN', message: aliasTaken(c.key).message }
          : { line: c.line, code: 'KEY_TAKEN', message: `the generated key "${c.key}" was taken while importing; import the row again` },
      );
    }
  }
  const planned = Object.values(input.skipCounts).reduce((a, b) => a + b, 0);
  return { rows: input.rows, created, skipped: planned + conflicts };
}

/** SHA-256 (hex) of a file's bytes, streamed. */
export async function sha256Of(chunks: AsyncIterable<Buffer | string>): Promise<string> {
  const hash = createHash('sha256');
  for await (const c of chunks) hash.update(c);
  return hash.digest('hex');
}

import { createHash } from 'node:crypto';
import type { Actor } from '../../platform/auth/actor.js';
import { isTnyError, TnyError } from '../../platform/errors.js';
import { noFaults, type Faults } from '../../platform/faults.js';
import type { SagaRun } from '../../platform/saga/types.js';
import type { ShortenerContext } from '../context.js';
import type { LinkPartitions, StagedLink } from '../import-staging.js';
import type { NewLink } from '../link.js';
import { parseLinkRecord } from '../link-record.js';
import { aliasTaken, prepareLink } from './create-link.js';
import { IMPORT_SAGA, type ImportInput, type InsertOutput, type PlannedSkip } from './import-saga.js';

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

/** Skipped rows the run keeps for the report of a resumed run. */
const KEPT_SKIPS = 20;
const MAX_KEY_ATTEMPTS = 16;

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
 * Imports link records as `actor`, as a saga (docs/adr/0008-sagas-for-bulk-work.md), so a
 * crash never leaves half an import that a re-run would duplicate:
 * 1. plan: each row is validated like an API create (`prepareLink`); bad rows are skipped with
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
    input = await plan(ctx, deps, actor, found.id, source.rows, opts);
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

interface Pending {
  line: number;
  alias: string | undefined;
  draft: Omit<NewLink, 'key'>;
  attempt: number;
}

/** Reads, validates, decides keys and stages; returns the run's input. */
async function plan(
  ctx: ShortenerContext,
  deps: ImportDeps,
  actor: Actor & { accountName: string },
  runId: string,
  rows: AsyncIterable<ImportRow>,
  opts: ImportOptions,
): Promise<ImportInput> {
  const input: ImportInput = {
    accountId: actor.accountId,
    account: actor.accountName,
    fileHash: '',
    rows: 0,
    staged: 0,
    partitions: [...deps.partitions.names],
    batch: opts.batchSize,
    skipCounts: {},
    firstSkips: [],
  };
  const skip = (s: PlannedSkip) => {
    input.skipCounts[s.code] = (input.skipCounts[s.code] ?? 0) + 1;
    input.firstSkips.push(s);
    if (input.firstSkips.length > KEPT_SKIPS * 4) input.firstSkips = input.firstSkips.sort((a, b) => a.line - b.line).slice(0, KEPT_SKIPS);
    opts.onSkip(s);
  };
  /** Keys this run has taken, with the URL (in-file duplicates are found here, not in the database). */
  const taken = new Map<string, string>();
  let batch: Pending[] = [];

  const flush = async () => {
    const pending = batch;
    batch = [];
    const staged = await decideKeys(ctx, deps.partitions, pending, taken, skip);
    const byPartition = new Map<string, StagedLink[]>();
    for (const s of staged) {
      const name = deps.partitions.partitionOf(s.link.key);
      const list = byPartition.get(name);
      if (list) list.push(s);
      else byPartition.set(name, [s]);
    }
    for (const [name, list] of byPartition) await deps.partitions.get(name).staging.stage(runId, list);
    input.staged += staged.length;
  };

  let broken: unknown;
  try {
    for await (const row of rows) {
      input.rows++;
      opts.onRow?.();
      if (row.malformed !== undefined || row.record === undefined) {
        skip({ line: row.line, code: 'MALFORMED_ROW', message: row.malformed ?? 'no record' });
        continue;
      }
      const prepared = await prepareRow(ctx, actor, row.line, row.record);
      if ('code' in prepared) {
        skip(prepared);
        continue;
      }
      batch.push(prepared);
      if (batch.length >= opts.batchSize) await flush();
    }
  } catch (err) {
    // The file broke off (e.g. bad CSV quoting): import what was read before the break.
    broken = err;
  }
  await flush();
  input.firstSkips = input.firstSkips.sort((a, b) => a.line - b.line).slice(0, KEPT_SKIPS);
  if (broken !== undefined) throw new ImportBrokeOff(broken, input);
  return input;
}

/** The file broke off while planning; `input` is the plan of the rows before the break. */
export class ImportBrokeOff extends Error {
  constructor(
    readonly reason: unknown,
    readonly input: ImportInput,
  ) {
    super('the file broke off', { cause: reason });
  }
}

/**
 * Gives each pending row its key, as createLink would but once and in batches: an alias is
 * taken unless this file or a link has it; a generated key is drawn from the strategy until
 * one is free (the hash strategy finding the same URL of the same account skips the row).
 * One existence query per partition per round, not one per row.
 */
async function decideKeys(
  ctx: ShortenerContext,
  partitions: LinkPartitions,
  pending: Pending[],
  taken: Map<string, string>,
  skip: (s: PlannedSkip) => void,
): Promise<StagedLink[]> {
  const out: StagedLink[] = [];
  let open = pending;
  for (let round = 0; open.length > 0; round++) {
    if (round >= MAX_KEY_ATTEMPTS) throw new TnyError('SERVICE_UNAVAILABLE', { message: 'no free short key was found; try again' });
    // Candidates, resolving clashes inside this file first.
    const candidates: { p: Pending; key: string }[] = [];
    const retry: Pending[] = [];
    for (const p of open) {
      if (p.alias !== undefined) {
        if (taken.has(p.alias)) skip({ line: p.line, code: 'ALIAS_TAKEN', message: aliasTaken(p.alias).message });
        else {
          candidates.push({ p, key: p.alias });
          taken.set(p.alias, p.draft.url);
        }
        continue;
      }
      const key = await ctx.keys.candidate(p.draft.url, p.draft.accountId, p.attempt);
      const url = taken.get(key);
      if (url === undefined) {
        candidates.push({ p, key });
        taken.set(key, p.draft.url);
      } else if (ctx.keys.strategy === 'hash' && url === p.draft.url) skip(alreadyShortened(p.line, key));
      else {
        p.attempt++;
        retry.push(p);
      }
    }
    // Then against the links that exist, one query per partition.
    const byPartition = new Map<string, string[]>();
    for (const c of candidates) {
      const name = partitions.partitionOf(c.key);
      const list = byPartition.get(name);
      if (list) list.push(c.key);
      else byPartition.set(name, [c.key]);
    }
    const existing = new Map<string, { url: string; accountId: number }>();
    for (const [name, keys] of byPartition) for (const [k, v] of await partitions.get(name).staging.existing(keys)) existing.set(k, v);
    for (const c of candidates) {
      const link = existing.get(c.key);
      if (!link) {
        out.push({ line: c.p.line, isAlias: c.p.alias !== undefined, link: { ...c.p.draft, key: c.key } });
      } else if (c.p.alias !== undefined) {
        skip({ line: c.p.line, code: 'ALIAS_TAKEN', message: aliasTaken(c.p.alias).message });
      } else if (ctx.keys.strategy === 'hash' && link.url === c.p.draft.url && link.accountId === c.p.draft.accountId) {
        skip(alreadyShortened(c.p.line, c.key));
      } else {
        c.p.attempt++;
        retry.push(c.p);
      }
    }
    open = retry;
  }
  return out;
}

function alreadyShortened(line: number, key: string): PlannedSkip {
  return { line, code: 'ALREADY_SHORTENED', message: `this account already shortened the URL as "${key}"` };
}

async function prepareRow(
  ctx: ShortenerContext,
  actor: Actor,
  line: number,
  record: Readonly<Record<string, unknown>>,
): Promise<Pending | PlannedSkip> {
  const now = ctx.clock.now();
  try {
    const parsed = parseLinkRecord(record, now);
    const draft = await prepareLink(ctx, actor, parsed.input);
    if (parsed.passwordHash !== undefined) draft.passwordHash = parsed.passwordHash;
    if (parsed.createdAt !== undefined) draft.createdAt = parsed.createdAt;
    return { line, alias: parsed.input.alias, draft, attempt: 0 };
  } catch (err) {
    if (!isTnyError(err)) throw err;
    const expires = record.expires_at;
    const past = typeof expires === 'string' && Date.parse(expires) <= now;
    if (past && err.details?.some((d) => d.field === 'expires_at')) {
      return { line, code: 'EXPIRED', message: `expired at ${expires}` };
    }
    return { line, code: err.code, message: err.message };
  }
}

/** SHA-256 (hex) of a file's bytes, streamed. */
export async function sha256Of(chunks: AsyncIterable<Buffer | string>): Promise<string> {
  const hash = createHash('sha256');
  for await (const c of chunks) hash.update(c);
  return hash.digest('hex');
}

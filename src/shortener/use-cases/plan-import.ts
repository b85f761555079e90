import type { Actor } from '../../platform/auth/actor.js';
import { isTnyError, TnyError } from '../../platform/errors.js';
import type { ShortenerContext } from '../context.js';
import type { LinkPartitions, StagedLink } from '../import-staging.js';
import type { NewLink } from '../link.js';
import { parseLinkRecord } from '../link-record.js';
import { aliasTaken, prepareLink } from './create-link.js';
import type { ImportInput, PlannedSkip } from './import-saga.js';
import type { ImportOptions, ImportRow } from './import-links.js';

/** Skipped rows the run keeps for the report of a resumed run. */
const KEPT_SKIPS = 20;
const MAX_KEY_ATTEMPTS = 16;

interface Pending {
  line: number;
  alias: string | undefined;
  draft: Omit<NewLink, 'key'>;
  attempt: number;
}

/** Reads, validates, decides keys and stages; returns the run's input. */
export async function planImport(
  ctx: ShortenerContext,
  partitions: LinkPartitions,
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
    partitions: [...partitions.names],
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
    const staged = await decideKeys(ctx, partitions, pending, taken, skip);
    const byPartition = new Map<string, StagedLink[]>();
    for (const s of staged) {
      const name = partitions.partitionOf(s.link.key);
      const list = byPartition.get(name);
      if (list) list.push(s);
      else byPartition.set(name, [s]);
    }
    for (const [name, list] of byPartition) await partitions.get(name).staging.stage(runId, list);
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


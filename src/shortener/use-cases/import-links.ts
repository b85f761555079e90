import type { Actor } from '../../platform/auth/actor.js';
import { isTnyError } from '../../platform/errors.js';
import type { ShortenerContext } from '../context.js';
import type { NewLink } from '../link.js';
import { parseLinkRecord } from '../link-record.js';
import { aliasTaken, prepareLink, storeWithGeneratedKey } from './create-link.js';

/** One row of an import file: a record, or why the file's syntax gave none. */
export interface ImportRow {
  /** Where the row starts in the file (1-based), for messages. */
  line: number;
  record?: Readonly<Record<string, unknown>>;
  malformed?: string;
}

export interface SkippedRow {
  line: number;
  /** An API error code, or a reason only imports have: EXPIRED, ALREADY_SHORTENED, MALFORMED_ROW. */
  code: string;
  message: string;
}

export interface ImportOptions {
  /** Rows per `insertMany` transaction. */
  batchSize: number;
  onSkip(row: SkippedRow): void;
  /** Called once per row read, valid or not. */
  onRow?(): void;
}

export interface ImportResult {
  rows: number;
  created: number;
  skipped: number;
}

interface Pending {
  line: number;
  alias: string | undefined;
  draft: Omit<NewLink, 'key'>;
}

/**
 * Imports link records as `actor`: each row is validated like an API create (`prepareLink`),
 * bad rows are skipped with a reason, valid ones are stored `batchSize` at a time, each batch
 * in one transaction. Rows without an alias get a key from the configured strategy; a key
 * that turns out taken is retried the way `createLink` does. Rows whose `expires_at` has
 * passed are skipped as EXPIRED (an export carries expired links too).
 */
export async function importLinks(
  ctx: ShortenerContext,
  actor: Actor,
  rows: AsyncIterable<ImportRow>,
  opts: ImportOptions,
): Promise<ImportResult> {
  const result: ImportResult = { rows: 0, created: 0, skipped: 0 };
  const skip = (line: number, code: string, message: string) => {
    result.skipped++;
    opts.onSkip({ line, code, message });
  };
  let batch: Pending[] = [];

  const flush = async () => {
    const pending = batch;
    batch = [];
    if (pending.length === 0) return;
    const links: NewLink[] = [];
    for (const p of pending) {
      links.push({ ...p.draft, key: p.alias ?? (await ctx.keys.candidate(p.draft.url, p.draft.accountId, 0)) });
    }
    const stored = await ctx.links.insertMany(links);
    for (const [i, p] of pending.entries()) {
      const link = stored[i];
      if (link !== undefined && link !== 'conflict') {
        result.created++;
        await ctx.cache.invalidate(link.key);
      } else if (p.alias !== undefined) {
        skip(p.line, 'ALIAS_TAKEN', aliasTaken(p.alias).message);
      } else {
        const retried = await storeWithGeneratedKey(ctx, p.draft);
        if (retried.created) result.created++;
        else skip(p.line, 'ALREADY_SHORTENED', `this account already shortened the URL as "${retried.link.key}"`);
      }
    }
  };

  try {
    for await (const row of rows) {
      result.rows++;
      opts.onRow?.();
      if (row.malformed !== undefined || row.record === undefined) {
        skip(row.line, 'MALFORMED_ROW', row.malformed ?? 'no record');
        continue;
      }
      const prepared = await prepareRow(ctx, actor, row.line, row.record);
      if ('code' in prepared) {
        skip(prepared.line, prepared.code, prepared.message);
        continue;
      }
      batch.push(prepared);
      if (batch.length >= opts.batchSize) await flush();
    }
  } catch (err) {
    // The file broke off (e.g. bad CSV quoting): keep what was read before the break.
    await flush();
    throw err;
  }
  await flush();
  return result;
}

async function prepareRow(
  ctx: ShortenerContext,
  actor: Actor,
  line: number,
  record: Readonly<Record<string, unknown>>,
): Promise<Pending | SkippedRow> {
  const now = ctx.clock.now();
  try {
    const parsed = parseLinkRecord(record, now);
    const draft = await prepareLink(ctx, actor, parsed.input);
    if (parsed.passwordHash !== undefined) draft.passwordHash = parsed.passwordHash;
    if (parsed.createdAt !== undefined) draft.createdAt = parsed.createdAt;
    return { line, alias: parsed.input.alias, draft };
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

import { sql, type Kysely, type Transaction } from 'kysely';
import type { ImportStaging, StagedConflict, StagedLink } from '../../shortener/import-staging.js';
import { insertTags, toRow } from './link-rows.js';
import type { Database, SqlDialectName } from './schema.js';
import { chunks, compareText } from './sql-helpers.js';

type Db = Kysely<Database> | Transaction<Database>;

/** `import_staging` on one database (SQLite or PostgreSQL); see the port for the contract. */
export class KyselyImportStaging implements ImportStaging {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialectName,
  ) {}

  async stage(runId: string, rows: readonly StagedLink[]): Promise<void> {
    for (const part of chunks(rows, 250)) {
      await this.db
        .insertInto('import_staging')
        .values(
          part.map((r) => ({
            run_id: runId,
            line: r.line,
            is_alias: r.isAlias ? 1 : 0,
            ...withoutCount(toRow(r.link)),
            tags: JSON.stringify(r.link.tags),
            state: 'staged',
            link_id: null,
          })),
        )
        .onConflict((oc) => oc.columns(['run_id', 'line']).doNothing())
        .execute();
    }
  }

  async clear(runId: string): Promise<void> {
    await this.db.deleteFrom('import_staging').where('run_id', '=', runId).execute();
  }

  async existing(keys: readonly string[]): Promise<Map<string, { url: string; accountId: number }>> {
    const out = new Map<string, { url: string; accountId: number }>();
    for (const part of chunks([...keys])) {
      const rows = await this.db.selectFrom('short_urls').select(['short_key', 'original_url', 'account_id']).where('short_key', 'in', part).execute();
      for (const r of rows) out.set(r.short_key, { url: r.original_url, accountId: Number(r.account_id) });
    }
    return out;
  }

  insertStaged(runId: string, limit: number, afterLine = 0): Promise<{ inserted: string[]; conflicts: StagedConflict[]; lastLine: number }> {
    return this.db.transaction().execute(async (trx) => {
      await lockRun(trx, this.dialect, runId);
      // Line order after a cursor: the primary key's range, however many rows are moved already.
      const staged = await trx
        .selectFrom('import_staging')
        .selectAll()
        .where('run_id', '=', runId)
        .where('line', '>', afterLine)
        .where('state', '=', 'staged')
        .orderBy('line')
        .limit(limit)
        .execute();
      if (staged.length === 0) return { inserted: [], conflicts: [], lastLine: afterLine };
      const lastLine = Number(staged[staged.length - 1]!.line);
      // Keys in sorted order (as insertMany does) so concurrent writers cannot deadlock.
      staged.sort((a, b) => compareText(a.short_key, b.short_key));
      const ids = new Map<string, number>();
      for (const part of chunks(staged)) {
        const rows = await trx
          .insertInto('short_urls')
          .values(part.map(({ run_id: _r, line: _l, is_alias: _a, tags: _t, state: _s, link_id: _i, ...link }) => ({ ...link, click_count: 0 })))
          .onConflict((oc) => oc.column('short_key').doNothing())
          .returning(['id', 'short_key'])
          .execute();
        for (const r of rows) ids.set(r.short_key, Number(r.id));
      }
      await insertTags(
        trx,
        staged.flatMap((s) => (ids.has(s.short_key) ? [{ linkId: ids.get(s.short_key)!, tags: JSON.parse(s.tags) as string[] }] : [])),
      );
      const inserted = staged.filter((s) => ids.has(s.short_key));
      const conflicted = staged.filter((s) => !ids.has(s.short_key));
      await markInserted(trx, runId, inserted.map((s) => Number(s.line)));
      for (const part of chunks(conflicted.map((s) => s.line))) {
        await trx.updateTable('import_staging').set({ state: 'conflict' }).where('run_id', '=', runId).where('state', '=', 'staged').where('line', 'in', part).execute();
      }
      return {
        inserted: inserted.map((s) => s.short_key),
        conflicts: conflicted.map((s) => ({ line: Number(s.line), key: s.short_key, isAlias: Number(s.is_alias) !== 0 })),
        lastLine,
      };
    });
  }

  async insertedKeys(runId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('import_staging').select('short_key').where('run_id', '=', runId).where('state', '=', 'inserted').execute();
    return rows.map((r) => r.short_key);
  }

  async conflicts(runId: string): Promise<StagedConflict[]> {
    const rows = await this.db
      .selectFrom('import_staging')
      .select(['line', 'short_key', 'is_alias'])
      .where('run_id', '=', runId)
      .where('state', '=', 'conflict')
      .orderBy('line')
      .execute();
    return rows.map((r) => ({ line: Number(r.line), key: r.short_key, isAlias: Number(r.is_alias) !== 0 }));
  }

  removeInserted(runId: string, limit: number): Promise<string[]> {
    return this.db.transaction().execute(async (trx) => {
      await lockRun(trx, this.dialect, runId);
      const rows = await trx
        .selectFrom('import_staging')
        .select(['line', 'short_key', 'link_id'])
        .where('run_id', '=', runId)
        .where('state', '=', 'inserted')
        .orderBy('line')
        .limit(limit)
        .execute();
      if (rows.length === 0) return [];
      // By id: the link this run inserted, not a link another writer made under the key later.
      // Tags and click rollups go with it (ON DELETE CASCADE).
      for (const part of chunks(rows.map((r) => Number(r.link_id)))) await trx.deleteFrom('short_urls').where('id', 'in', part).execute();
      for (const part of chunks(rows.map((r) => Number(r.line)))) {
        await trx.updateTable('import_staging').set({ state: 'compensated' }).where('run_id', '=', runId).where('line', 'in', part).execute();
      }
      return rows.map((r) => r.short_key);
    });
  }

  async counts(runId: string): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom('import_staging')
      .select((eb) => ['state', eb.fn.countAll<number>().as('n')])
      .where('run_id', '=', runId)
      .groupBy('state')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  }
}

function withoutCount(row: ReturnType<typeof toRow>): Omit<ReturnType<typeof toRow>, 'click_count'> {
  const { click_count: _c, ...rest } = row;
  return rest;
}

/**
 * Two processes may drive one run at once (a CLI import and `tny serve` resuming it): their
 * transactions on a run take turns, so one never marks as a conflict a row the other just
 * inserted. PostgreSQL: a transaction-scoped advisory lock on the run id. SQLite: a write
 * first, which takes the database's one write lock before anything is read (waiting up to the
 * busy timeout), so what is read next is current.
 */
async function lockRun(trx: Transaction<Database>, dialect: SqlDialectName, runId: string): Promise<void> {
  if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${`tny-import:${runId}`}))`.execute(trx);
  else await trx.updateTable('import_staging').set({ state: 'staged' }).where('run_id', '=', runId).where('line', '=', -1).execute();
}

/** Marks the rows just inserted, with their link ids (read back in the same transaction). */
async function markInserted(db: Db, runId: string, lines: readonly number[]): Promise<void> {
  for (const part of chunks([...lines])) {
    await db
      .updateTable('import_staging')
      .set((eb) => ({
        state: 'inserted',
        link_id: eb.selectFrom('short_urls').select('short_urls.id').whereRef('short_urls.short_key', '=', 'import_staging.short_key'),
      }))
      .where('run_id', '=', runId)
      .where('line', 'in', part)
      .where('state', '=', 'staged')
      .execute();
  }
}

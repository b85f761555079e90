import type SqliteDatabase from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { ClickAggregate, ClickBatch, LinkStats } from '../../shortener/clicks.js';
import type { ClickRepository } from '../../shortener/ports.js';
import { clickStats } from '../sql/kysely-click-stats.js';
import type { Database } from '../sql/schema.js';

/** Rows per multi-row statement; shorter tails run as power-of-two pieces (64, 32, …, 1). */
const MAX_CHUNK = 128;

type Statement = SqliteDatabase.Statement<unknown[]>;

const valuesList = (rows: number, columns: number): string =>
  Array.from({ length: rows }, () => `(${Array.from({ length: columns }, () => '?').join(',')})`).join(',');

// SQLite names the columns of a VALUES list column1, column2, …
const countSql = (rows: number): string =>
  `UPDATE short_urls SET click_count = click_count + v.column2 FROM (VALUES ${valuesList(rows, 2)}) AS v ` +
  'WHERE short_urls.id = v.column1';

// The join drops rows of links deleted meanwhile; `WHERE true` tells SQLite's parser that
// ON CONFLICT belongs to the INSERT, not to the join. Repeated keys within one statement are
// merged by the upsert itself (SQLite applies the rows one by one, unlike PostgreSQL).
const rollupSql = (rows: number): string =>
  'INSERT INTO click_rollups (link_id, day, referrer, browser, os, bot, clicks) ' +
  `SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7 FROM (VALUES ${valuesList(rows, 7)}) AS v ` +
  'JOIN short_urls s ON s.id = v.column1 WHERE true ' +
  'ON CONFLICT (link_id, day, referrer, browser, os, bot) DO UPDATE SET clicks = clicks + excluded.clicks';

/** The largest statement size for `rest` remaining rows. */
function pieceSize(rest: number): number {
  return rest >= MAX_CHUNK ? MAX_CHUNK : 1 << (31 - Math.clz32(rest));
}

/**
 * Click rollups and running counts on SQLite through raw prepared better-sqlite3 statements:
 * a batch is one synchronous IMMEDIATE transaction of multi-row statements, all or nothing.
 * Rows of links deleted in the meantime are skipped. `raw` must be the connection under `db`:
 * the batch runs while holding Kysely's connection, so it never lands inside a Kysely
 * transaction that is awaiting something.
 */
export class SqliteClickRepository implements ClickRepository {
  private readonly countStatements = new Map<number, Statement>();
  private readonly rollupStatements = new Map<number, Statement>();
  private readonly write: (rollups: readonly ClickAggregate[], counts: ReadonlyMap<number, number>) => void;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly raw: SqliteDatabase.Database,
  ) {
    this.write = raw.transaction((rollups: readonly ClickAggregate[], counts: ReadonlyMap<number, number>) => {
      this.writeInTransaction(rollups, counts);
    }).immediate;
  }

  /** Adds rollups and counts inside the caller's transaction on `raw` (the click journal's). */
  writeInTransaction(rollups: readonly ClickAggregate[], counts: ReadonlyMap<number, number>): void {
    if (!this.raw.inTransaction) throw new Error('SqliteClickRepository.writeInTransaction: no transaction is open');
    this.addCounts(counts);
    this.addRollups(rollups);
  }

  async addClicks(batch: ClickBatch): Promise<void> {
    if (batch.rollups.length === 0 && batch.counts.size === 0) return;
    await this.db.connection().execute(async () => {
      if (this.raw.inTransaction) throw new Error('SqliteClickRepository: the connection is already in a transaction');
      this.write(batch.rollups, batch.counts);
    });
  }

  stats(linkId: number, fromDay: string, toDay: string, extra: readonly ClickAggregate[] = []): Promise<Omit<LinkStats, 'from' | 'to'>> {
    return clickStats(this.db, 'sqlite', linkId, fromDay, toDay, extra);
  }

  /** Everything is written when addClicks resolves. */
  pendingCount(): number {
    return 0;
  }

  consistentRead<T>(read: () => Promise<T>): Promise<T> {
    return read();
  }

  settle(): Promise<void> {
    return Promise.resolve();
  }

  private addCounts(counts: ReadonlyMap<number, number>): void {
    const params: number[] = [];
    for (const [id, n] of counts) if (n !== 0) params.push(id, n);
    this.runPieces(params, 2, this.countStatements, countSql);
  }

  private addRollups(rollups: readonly ClickAggregate[]): void {
    const params: unknown[] = [];
    for (const r of rollups) {
      if (r.clicks !== 0) params.push(r.linkId, r.day, r.referrer, r.browser, r.os, r.bot ? 1 : 0, r.clicks);
    }
    this.runPieces(params, 7, this.rollupStatements, rollupSql);
  }

  /** Runs `params` (rows of `columns` values, flattened) through statements of at most MAX_CHUNK rows. */
  private runPieces(params: unknown[], columns: number, statements: Map<number, Statement>, text: (rows: number) => string): void {
    const rows = params.length / columns;
    for (let done = 0; done < rows; ) {
      const size = pieceSize(rows - done);
      let statement = statements.get(size);
      if (statement === undefined) {
        statement = this.raw.prepare<unknown[]>(text(size));
        statements.set(size, statement);
      }
      statement.run(params.slice(done * columns, (done + size) * columns));
      done += size;
    }
  }
}

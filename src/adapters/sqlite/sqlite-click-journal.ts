import type SqliteDatabase from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.js';
import type { ClickBatch } from '../../shortener/clicks.js';
import { JournalLeaseLost, type ClickJournal, type CompactionProgress } from '../../shortener/journaled-clicks.js';
import { decodeClickBatch, encodeClickBatch } from '../../shortener/pending-clicks.js';
import type { Database } from '../sql/schema.js';
import type { SqliteClickRepository } from './sqlite-click-repository.js';

/**
 * The click journal on SQLite (ADR 6), through raw prepared statements on the connection under
 * `db`, each call one synchronous IMMEDIATE transaction. Parts are written by `writer` inside
 * the same transaction as the progress record and the lease check.
 */
export class SqliteClickJournal implements ClickJournal {
  private readonly s: {
    lease: SqliteDatabase.Statement<[]>;
    takeLease: SqliteDatabase.Statement<[string, number]>;
    dropLease: SqliteDatabase.Statement<[string]>;
    append: SqliteDatabase.Statement<[string, number]>;
    progress: SqliteDatabase.Statement<[]>;
    setProgress: SqliteDatabase.Statement<[number, number]>;
    clearProgress: SqliteDatabase.Statement<[]>;
    read: SqliteDatabase.Statement<[number, number]>;
    trim: SqliteDatabase.Statement<[number]>;
  };

  constructor(
    private readonly db: Kysely<Database>,
    private readonly raw: SqliteDatabase.Database,
    private readonly writer: SqliteClickRepository,
    private readonly clock: Clock,
  ) {
    this.s = {
      lease: raw.prepare('SELECT owner, expires_at FROM click_journal_lease WHERE id = 1'),
      takeLease: raw.prepare(
        'INSERT INTO click_journal_lease (id, owner, expires_at) VALUES (1, ?, ?) ' +
          'ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at',
      ),
      dropLease: raw.prepare('DELETE FROM click_journal_lease WHERE id = 1 AND owner = ?'),
      append: raw.prepare('INSERT INTO click_journal (body, created_at) VALUES (?, ?)'),
      progress: raw.prepare('SELECT upto, done_link_id FROM click_compaction WHERE id = 1'),
      setProgress: raw.prepare(
        'INSERT INTO click_compaction (id, upto, done_link_id) VALUES (1, ?, ?) ' +
          'ON CONFLICT (id) DO UPDATE SET upto = excluded.upto, done_link_id = excluded.done_link_id',
      ),
      clearProgress: raw.prepare('DELETE FROM click_compaction WHERE id = 1'),
      read: raw.prepare('SELECT id, body FROM click_journal WHERE id > ? AND id <= ? ORDER BY id'),
      trim: raw.prepare('DELETE FROM click_journal WHERE id <= ?'),
    };
  }

  acquire(owner: string, ttlMs: number, holderIsGone: (holder: string) => boolean = () => false): Promise<boolean> {
    return this.run(() => {
      const now = this.clock.now();
      const held = this.s.lease.get() as { owner: string; expires_at: number } | undefined;
      if (held && held.owner !== owner && Number(held.expires_at) > now && !holderIsGone(held.owner)) return false;
      this.s.takeLease.run(owner, now + ttlMs);
      return true;
    });
  }

  release(owner: string): Promise<void> {
    return this.run(() => {
      this.s.dropLease.run(owner);
    });
  }

  append(owner: string, batch: ClickBatch): Promise<number> {
    const body = encodeClickBatch(batch);
    return this.run(() => {
      this.checkLease(owner);
      return Number(this.s.append.run(body, this.clock.now()).lastInsertRowid);
    });
  }

  progress(): Promise<CompactionProgress | undefined> {
    return this.run(() => {
      const row = this.s.progress.get() as { upto: number; done_link_id: number } | undefined;
      return row ? { upto: Number(row.upto), doneLinkId: Number(row.done_link_id) } : undefined;
    }, false);
  }

  forEach(afterId: number, uptoId: number, visit: (batch: ClickBatch) => void): Promise<number> {
    return this.run(() => {
      let last = afterId;
      for (const row of this.s.read.iterate(afterId, uptoId) as Iterable<{ id: number; body: string }>) {
        visit(decodeClickBatch(row.body));
        last = Number(row.id);
      }
      return last;
    }, false);
  }

  applyPart(owner: string, part: ClickBatch, progress: CompactionProgress): Promise<void> {
    return this.run(() => {
      this.checkLease(owner);
      this.writer.writeInTransaction(part.rollups, part.counts);
      this.s.setProgress.run(progress.upto, progress.doneLinkId);
    });
  }

  finish(owner: string, upto: number): Promise<void> {
    return this.run(() => {
      this.checkLease(owner);
      this.s.trim.run(upto);
      this.s.clearProgress.run();
    });
  }

  private checkLease(owner: string): void {
    const held = this.s.lease.get() as { owner: string; expires_at: number } | undefined;
    if (!held || held.owner !== owner) throw new JournalLeaseLost();
  }

  /**
   * Runs `fn` on Kysely's connection (so it never lands inside a Kysely transaction that is
   * awaiting something), as one IMMEDIATE transaction unless it only reads.
   */
  private async run<T>(fn: () => T, write = true): Promise<T> {
    let result: T | undefined;
    await this.db.connection().execute(async () => {
      if (this.raw.inTransaction) throw new Error('SqliteClickJournal: the connection is already in a transaction');
      result = write ? this.raw.transaction(fn).immediate() : fn();
    });
    return result as T;
  }
}

import type { Kysely } from 'kysely';
import type { ClickAggregate, ClickBatch, LinkStats } from '../../shortener/clicks.js';
import type { ClickRepository } from '../../shortener/ports.js';
import { clickStats } from './kysely-click-stats.js';
import type { ClickRollupsTable, Database, SqlDialectName } from './schema.js';
import { chunks, compareText } from './sql-helpers.js';

/**
 * Click rollups and running counts. A batch is one transaction; rows for links deleted in the
 * meantime are dropped rather than failing the batch (their rollups would be cascaded away).
 */
export class KyselyClickRepository implements ClickRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialectName,
  ) {}

  async addClicks(batch: ClickBatch): Promise<void> {
    await this.writeBatch(batch);
  }

  /** addClicks that also says which links' clicks were left out (not in this database). */
  async writeBatch(batch: ClickBatch): Promise<number[]> {
    if (batch.rollups.length === 0 && batch.counts.size === 0) return [];
    return this.db.transaction().execute((trx) => writeClickBatch(trx, this.dialect, batch));
  }

  stats(linkId: number, fromDay: string, toDay: string, extra: readonly ClickAggregate[] = []): Promise<Omit<LinkStats, 'from' | 'to'>> {
    return clickStats(this.db, this.dialect, linkId, fromDay, toDay, extra);
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
}

/**
 * Adds a batch inside the caller's transaction (addClicks, or the Redis click flush, which
 * writes its marker row in the same transaction). Rows of links not in this database (deleted
 * meanwhile, or moved to another shard: ADR 8) are left out; their ids are returned.
 */
export async function writeClickBatch(trx: Kysely<Database>, dialect: SqlDialectName, batch: ClickBatch): Promise<number[]> {
  const rollups = mergeRollups(batch.rollups);
  const counts = [...batch.counts].filter(([, n]) => n !== 0).sort((a, b) => a[0] - b[0]);
  const ids = [...new Set([...rollups.map((r) => r.link_id), ...counts.map(([id]) => id)])].sort((a, b) => a - b);
  if (ids.length === 0) return [];
  // Which links still exist; on PostgreSQL also keep them from being deleted until commit,
  // so the rollups' foreign keys cannot fail halfway (and wait for a shard move that holds
  // them locked: after it commits they are gone here, and reported missing).
  const existing = new Set<number>();
  for (const part of chunks(ids)) {
    let q = trx.selectFrom('short_urls').select('id').where('id', 'in', part);
    if (dialect === 'postgres') q = q.forKeyShare();
    for (const row of await q.execute()) existing.add(Number(row.id));
  }
  for (const [id, n] of counts) {
    if (!existing.has(id)) continue;
    await trx
      .updateTable('short_urls')
      .set((eb) => ({ click_count: eb('click_count', '+', n) }))
      .where('id', '=', id)
      .execute();
  }
  const rows = rollups.filter((r) => existing.has(r.link_id));
  for (const part of chunks(rows)) {
    await trx
      .insertInto('click_rollups')
      .values(part)
      .onConflict((oc) =>
        oc
          .columns(['link_id', 'day', 'referrer', 'browser', 'os', 'bot'])
          .doUpdateSet((eb) => ({ clicks: eb('click_rollups.clicks', '+', eb.ref('excluded.clicks')) })),
      )
      .execute();
  }
  return ids.filter((id) => !existing.has(id));
}

type RollupRow = { [K in keyof ClickRollupsTable]: K extends 'day' | 'referrer' | 'browser' | 'os' ? string : number };

/**
 * One row per rollup key (a multi-row upsert may not touch the same row twice), in a fixed
 * order so concurrent batches lock rows in the same order.
 */
function mergeRollups(aggregates: readonly ClickAggregate[]): RollupRow[] {
  const merged = new Map<string, RollupRow>();
  for (const a of aggregates) {
    if (a.clicks === 0) continue;
    const bot = a.bot ? 1 : 0;
    const id = JSON.stringify([a.linkId, a.day, a.referrer, a.browser, a.os, bot]);
    const row = merged.get(id);
    if (row) row.clicks += a.clicks;
    else merged.set(id, { link_id: a.linkId, day: a.day, referrer: a.referrer, browser: a.browser, os: a.os, bot, clicks: a.clicks });
  }
  return [...merged.entries()].sort((x, y) => x[1].link_id - y[1].link_id || compareText(x[0], y[0])).map(([, row]) => row);
}

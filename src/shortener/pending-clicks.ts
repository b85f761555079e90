import type { ClickAggregate, ClickBatch, ClickDimensions } from './clicks.js';

/** A rollup row held in memory; `journaled` of its clicks are already in the journal. */
interface Row extends ClickAggregate {
  journaled: number;
}

/** One link's pending rows and running count. */
interface LinkEntry {
  linkId: number;
  rows: Row[];
  /** Built once a link has more than INDEX_AFTER rows. */
  index: Map<string, Row> | undefined;
  count: number;
  countJournaled: number;
  /** In the dirty list: has clicks not yet journaled. */
  dirty: boolean;
}

const INDEX_AFTER = 8;

/** The clicks of one journal append. */
export interface JournalDelta {
  batch: ClickBatch;
  /** The append failed: these clicks still need journaling. */
  rollback(): void;
}

/**
 * Clicks accumulated in memory between compactions (ADR 6), per link id — a number, so
 * counting a click builds no string and allocates nothing once its row exists. Each row
 * tracks how many of its clicks are journaled; `takeDelta` hands out the rest for the next
 * append. Everything here is applied to the database by compaction, as `parts`.
 */
export class PendingClicks {
  private readonly links = new Map<number, LinkEntry>();
  private dirty: LinkEntry[] = [];
  private rowCount = 0;

  /** Distinct rollup rows held. */
  get size(): number {
    return this.rowCount;
  }

  /** Links with clicks not yet journaled. */
  get dirtyLinks(): number {
    return this.dirty.length;
  }

  /**
   * Counts one click. `addToCount` is false for links with max_clicks (their running count
   * was taken atomically already). Returns false — and counts nothing — when the click needs
   * a new row and `maxRows` rows are held.
   */
  record(linkId: number, d: ClickDimensions, addToCount: boolean, maxRows = Infinity): boolean {
    let link = this.links.get(linkId);
    let row = link && find(link, d);
    if (!row) {
      if (this.rowCount >= maxRows) return false;
      link ??= this.newLink(linkId);
      row = this.newRow(link, { linkId, day: d.day, referrer: d.referrer, browser: d.browser, os: d.os, bot: d.bot, clicks: 0 });
    }
    row.clicks++;
    if (addToCount) link!.count++;
    if (!link!.dirty) {
      link!.dirty = true;
      this.dirty.push(link!);
    }
    return true;
  }

  /** Adds a batch that is already in the journal (recovery). Takes ownership of its rows. */
  addJournaled(batch: ClickBatch): void {
    for (const r of batch.rollups) {
      if (r.clicks === 0) continue;
      const link = this.links.get(r.linkId) ?? this.newLink(r.linkId);
      const row = find(link, r);
      if (row) {
        row.clicks += r.clicks;
        row.journaled += r.clicks;
      } else this.newRow(link, r, r.clicks);
    }
    for (const [id, n] of batch.counts) {
      if (n === 0) continue;
      const link = this.links.get(id) ?? this.newLink(id);
      link.count += n;
      link.countJournaled += n;
    }
  }

  /**
   * The clicks not yet journaled, of up to `maxRows` rows (whole links), as a batch to append.
   * They count as journaled from now on, so clicks counted while the append runs go into the
   * next delta, not this one again; rollback() (the append failed) hands them back.
   */
  takeDelta(maxRows = Infinity): JournalDelta {
    const batch: ClickBatch = { rollups: [], counts: new Map() };
    const taken: { row: Row | null; link: LinkEntry; n: number }[] = [];
    let links = 0;
    while (links < this.dirty.length && batch.rollups.length < maxRows) {
      const link = this.dirty[links++]!;
      link.dirty = false;
      for (const row of link.rows) {
        const n = row.clicks - row.journaled;
        if (n === 0) continue;
        batch.rollups.push({ linkId: row.linkId, day: row.day, referrer: row.referrer, browser: row.browser, os: row.os, bot: row.bot, clicks: n });
        row.journaled += n;
        taken.push({ row, link, n });
      }
      const n = link.count - link.countJournaled;
      if (n !== 0) {
        batch.counts.set(link.linkId, n);
        link.countJournaled += n;
        taken.push({ row: null, link, n });
      }
    }
    this.dirty = this.dirty.slice(links);
    return {
      batch,
      rollback: () => {
        for (const t of taken) {
          if (t.row) t.row.journaled -= t.n;
          else t.link.countJournaled -= t.n;
          if (!t.link.dirty) {
            t.link.dirty = true;
            this.dirty.push(t.link);
          }
        }
      },
    };
  }

  /**
   * Moves every click not yet journaled into a new PendingClicks and returns it, so that this
   * one holds exactly its journaled clicks (what compaction may apply). Call with no delta
   * outstanding.
   */
  splitUnjournaled(): PendingClicks {
    const rest = new PendingClicks();
    for (const link of this.dirty) {
      link.dirty = false;
      for (const row of link.rows) {
        const n = row.clicks - row.journaled;
        if (n === 0) continue;
        row.clicks = row.journaled;
        rest.record(link.linkId, row, false);
        const moved = rest.links.get(link.linkId)!;
        find(moved, row)!.clicks += n - 1;
      }
      const n = link.count - link.countJournaled;
      if (n !== 0) {
        link.count = link.countJournaled;
        const moved = rest.links.get(link.linkId) ?? rest.newLink(link.linkId);
        moved.count += n;
        if (!moved.dirty) {
          moved.dirty = true;
          rest.dirty.push(moved);
        }
      }
    }
    this.dirty = [];
    return rest;
  }

  /** Clicks held for the link's running count, for links above `afterLinkId`. */
  count(linkId: number, afterLinkId = 0): number {
    return linkId > afterLinkId ? (this.links.get(linkId)?.count ?? 0) : 0;
  }

  /** The link's rows within [fromDay, toDay] (copies), for links above `afterLinkId`. */
  rowsOf(linkId: number, fromDay: string, toDay: string, afterLinkId = 0): ClickAggregate[] {
    if (linkId <= afterLinkId) return [];
    const rows = this.links.get(linkId)?.rows ?? [];
    return rows
      .filter((r) => r.clicks !== 0 && r.day >= fromDay && r.day <= toDay)
      .map((r) => ({ linkId: r.linkId, day: r.day, referrer: r.referrer, browser: r.browser, os: r.os, bot: r.bot, clicks: r.clicks }));
  }

  /**
   * Everything for links above `afterLinkId`, as batches in ascending link id, each holding
   * whole links and about `partRows` rows (more when one link has more), with the last link id
   * of each. The cut depends only on the contents, so the same clicks always give the same parts.
   */
  *parts(partRows: number, afterLinkId = 0): Generator<{ batch: ClickBatch; lastLinkId: number }> {
    const ids = [...this.links.keys()].filter((id) => id > afterLinkId).sort((a, b) => a - b);
    let i = 0;
    while (i < ids.length) {
      const batch: ClickBatch = { rollups: [], counts: new Map() };
      let lastLinkId = 0;
      while (i < ids.length && batch.rollups.length + batch.counts.size < partRows) {
        const link = this.links.get(ids[i++]!)!;
        for (const r of link.rows) {
          if (r.clicks !== 0) batch.rollups.push({ linkId: r.linkId, day: r.day, referrer: r.referrer, browser: r.browser, os: r.os, bot: r.bot, clicks: r.clicks });
        }
        if (link.count !== 0) batch.counts.set(link.linkId, link.count);
        lastLinkId = link.linkId;
      }
      yield { batch, lastLinkId };
    }
  }

  private newLink(linkId: number): LinkEntry {
    const link: LinkEntry = { linkId, rows: [], index: undefined, count: 0, countJournaled: 0, dirty: false };
    this.links.set(linkId, link);
    return link;
  }

  private newRow(link: LinkEntry, r: ClickAggregate, journaled = 0): Row {
    const row = r as Row;
    row.journaled = journaled;
    link.rows.push(row);
    if (link.index) link.index.set(dimensionKey(row), row);
    else if (link.rows.length > INDEX_AFTER) link.index = new Map(link.rows.map((x) => [dimensionKey(x), x]));
    this.rowCount++;
    return row;
  }
}

function dimensionKey(d: ClickDimensions): string {
  return `${d.day}\u0000${d.referrer}\u0000${d.browser}\u0000${d.os}\u0000${d.bot ? 1 : 0}`;
}

function find(link: LinkEntry, d: ClickDimensions): Row | undefined {
  if (link.index) return link.index.get(dimensionKey(d));
  for (const x of link.rows) {
    if (x.day === d.day && x.referrer === d.referrer && x.browser === d.browser && x.os === d.os && x.bot === d.bot) return x;
  }
  return undefined;
}

/** A journal body: a batch as flat JSON arrays (compact and quick to parse). */
export function encodeClickBatch(batch: ClickBatch): string {
  const r: (string | number)[] = [];
  for (const x of batch.rollups) r.push(x.linkId, x.day, x.referrer, x.browser, x.os, x.bot ? 1 : 0, x.clicks);
  const c: number[] = [];
  for (const [id, n] of batch.counts) c.push(id, n);
  return JSON.stringify({ r, c });
}

export function decodeClickBatch(body: string): ClickBatch {
  const { r, c } = JSON.parse(body) as { r: (string | number)[]; c: number[] };
  const rollups: ClickAggregate[] = [];
  for (let i = 0; i < r.length; i += 7) {
    rollups.push({
      linkId: r[i] as number,
      day: r[i + 1] as string,
      referrer: r[i + 2] as string,
      browser: r[i + 3] as string,
      os: r[i + 4] as string,
      bot: r[i + 5] === 1,
      clicks: r[i + 6] as number,
    });
  }
  const counts = new Map<number, number>();
  for (let i = 0; i < c.length; i += 2) counts.set(c[i]!, c[i + 1]!);
  return { rollups, counts };
}

import type { ClickAggregate, ClickBatch } from './clicks.js';

/**
 * Click rows and running counts merged in memory (the journal's uncompacted part, ADR 6).
 * `add` takes ownership of the batch's row objects: it keeps and mutates them.
 */
export class PendingClicks {
  /**
   * Per link, its rows. Keyed by the numeric id (no string key to build and hash per row);
   * most links hold one or a few rows, searched in order, and a link with many gets an index.
   */
  private readonly links = new Map<number, LinkRows>();
  private readonly counts = new Map<number, number>();
  private rowCount = 0;

  /** Distinct rollup rows held. */
  get size(): number {
    return this.rowCount;
  }

  add(batch: ClickBatch): void {
    for (const r of batch.rollups) {
      if (r.clicks === 0) continue;
      const link = this.links.get(r.linkId);
      if (link === undefined) {
        this.links.set(r.linkId, { rows: [r], index: undefined });
        this.rowCount++;
        continue;
      }
      const row = find(link, r);
      if (row) row.clicks += r.clicks;
      else {
        link.rows.push(r);
        if (link.index) link.index.set(dimensionKey(r), r);
        else if (link.rows.length > INDEX_AFTER) link.index = new Map(link.rows.map((x) => [dimensionKey(x), x]));
        this.rowCount++;
      }
    }
    for (const [id, n] of batch.counts) if (n !== 0) this.counts.set(id, (this.counts.get(id) ?? 0) + n);
  }

  /** Clicks held for the link's running count, for links above `afterLinkId`. */
  count(linkId: number, afterLinkId = 0): number {
    return linkId > afterLinkId ? (this.counts.get(linkId) ?? 0) : 0;
  }

  /** The link's rows within [fromDay, toDay] (copies), for links above `afterLinkId`. */
  rowsOf(linkId: number, fromDay: string, toDay: string, afterLinkId = 0): ClickAggregate[] {
    if (linkId <= afterLinkId) return [];
    const rows = this.links.get(linkId)?.rows ?? [];
    return rows.filter((r) => r.day >= fromDay && r.day <= toDay).map((r) => ({ ...r }));
  }

  /**
   * Everything for links above `afterLinkId`, as batches in ascending link id, each holding
   * whole links and about `partRows` rows (more when one link has more), with the last link id
   * of each. The cut depends only on the contents, so the same clicks always give the same parts.
   */
  *parts(partRows: number, afterLinkId = 0): Generator<{ batch: ClickBatch; lastLinkId: number }> {
    const rows = [...this.links.keys()]
      .filter((id) => id > afterLinkId)
      .sort((a, b) => a - b)
      .flatMap((id) => this.links.get(id)!.rows);
    const counts = [...this.counts].filter(([id]) => id > afterLinkId).sort((a, b) => a[0] - b[0]);
    let r = 0;
    let c = 0;
    while (r < rows.length || c < counts.length) {
      const part: ClickBatch = { rollups: [], counts: new Map() };
      let lastLinkId = 0;
      // Take whole links, lowest id first, until the part is full.
      while ((r < rows.length || c < counts.length) && part.rollups.length + part.counts.size < partRows) {
        const next = Math.min(rows[r]?.linkId ?? Infinity, counts[c]?.[0] ?? Infinity);
        while (r < rows.length && rows[r]!.linkId === next) part.rollups.push(rows[r++]!);
        if (c < counts.length && counts[c]![0] === next) part.counts.set(next, counts[c++]![1]);
        lastLinkId = next;
      }
      yield { batch: part, lastLinkId };
    }
  }
}

interface LinkRows {
  rows: ClickAggregate[];
  /** Built once a link has more than INDEX_AFTER rows. */
  index: Map<string, ClickAggregate> | undefined;
}

const INDEX_AFTER = 8;

function dimensionKey(r: ClickAggregate): string {
  return `${r.day}\u0000${r.referrer}\u0000${r.browser}\u0000${r.os}\u0000${r.bot ? 1 : 0}`;
}

function find(link: LinkRows, r: ClickAggregate): ClickAggregate | undefined {
  if (link.index) return link.index.get(dimensionKey(r));
  for (const x of link.rows) {
    if (x.day === r.day && x.referrer === r.referrer && x.browser === r.browser && x.os === r.os && x.bot === r.bot) return x;
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

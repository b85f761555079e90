import type { ClickAggregate, ClickBatch, ClickDimensions } from './clicks.js';

/** A link's second and further rows (most links have one row per compaction interval). */
interface ExtraRow {
  dims: number;
  clicks: number;
  journaled: number;
}

/** The clicks of one journal append. */
export interface JournalDelta {
  batch: ClickBatch;
  /** The append failed: these clicks still need journaling. */
  rollback(): void;
}

/** Interns click dimensions as small ids: nested maps on the (constant) strings, no key built. */
class DimensionsTable {
  private readonly root = new Map<string, Map<string, Map<string, { day: string; bot: boolean; id: number }[]>>>();
  private readonly list: ClickDimensions[] = [];

  intern(d: ClickDimensions): number {
    let byOs = this.root.get(d.browser);
    if (!byOs) this.root.set(d.browser, (byOs = new Map()));
    let byReferrer = byOs.get(d.os);
    if (!byReferrer) byOs.set(d.os, (byReferrer = new Map()));
    let entries = byReferrer.get(d.referrer);
    if (!entries) byReferrer.set(d.referrer, (entries = []));
    for (const e of entries) if (e.day === d.day && e.bot === d.bot) return e.id;
    const id = this.list.length;
    this.list.push({ day: d.day, referrer: d.referrer, browser: d.browser, os: d.os, bot: d.bot });
    entries.push({ day: d.day, bot: d.bot, id });
    return id;
  }

  get(id: number): ClickDimensions {
    return this.list[id]!;
  }
}

const INITIAL_SLOTS = 1024;

/**
 * Clicks accumulated in memory between compactions (ADR 6). One slot per link in typed arrays
 * (its first rollup row, its running count, what of both is journaled, a dirty flag): ~75
 * bytes a link, and counting a click allocates nothing. A link's further rows (another day,
 * referrer, browser…) are small objects. `takeDelta` hands out what is not journaled yet for
 * the next append; compaction applies everything as `parts`.
 */
export class PendingClicks {
  private readonly slotOf = new Map<number, number>();
  private readonly table = new DimensionsTable();
  private linkIds = new Float64Array(INITIAL_SLOTS);
  /** The first row's dimensions id; -1 when the link has only a running count. */
  private dims = new Int32Array(INITIAL_SLOTS);
  private clicks = new Uint32Array(INITIAL_SLOTS);
  private journaled = new Uint32Array(INITIAL_SLOTS);
  private counts = new Uint32Array(INITIAL_SLOTS);
  private countsJournaled = new Uint32Array(INITIAL_SLOTS);
  private dirtyFlags = new Uint8Array(INITIAL_SLOTS);
  private extras: (ExtraRow[] | undefined)[] = [];
  private slots = 0;
  private rowCount = 0;
  private dirty = new Int32Array(INITIAL_SLOTS);
  private dirtyCount = 0;

  /** Distinct rollup rows held. */
  get size(): number {
    return this.rowCount;
  }

  /** Links with clicks not yet journaled. */
  get dirtyLinks(): number {
    return this.dirtyCount;
  }

  /**
   * Counts one click. `addToCount` is false for links with max_clicks (their running count
   * was taken atomically already). Returns false — and counts nothing — when the click needs
   * a new row and `maxRows` rows are held.
   */
  record(linkId: number, d: ClickDimensions, addToCount: boolean, maxRows = Infinity): boolean {
    const dimsId = this.table.intern(d);
    const slot = this.slotOf.get(linkId);
    if (slot !== undefined && this.dims[slot] === dimsId) {
      this.clicks[slot]!++; // the common case: the link's one row
    } else {
      if (!this.addToRow(linkId, slot, dimsId, 1, 0, maxRows)) return false;
    }
    const s = slot ?? this.slotOf.get(linkId)!;
    if (addToCount) this.counts[s]!++;
    this.markDirty(s);
    return true;
  }

  /** Adds a batch that is already in the journal (recovery). */
  addJournaled(batch: ClickBatch): void {
    for (const r of batch.rollups) {
      if (r.clicks !== 0) this.addToRow(r.linkId, this.slotOf.get(r.linkId), this.table.intern(r), r.clicks, r.clicks, Infinity);
    }
    for (const [id, n] of batch.counts) this.addToCount(id, n, n);
  }

  /**
   * The clicks not yet journaled, of up to about `maxRows` rows (whole links), as a batch to
   * append. They count as journaled from now on, so clicks counted while the append runs go
   * into the next delta, not this one again; rollback() (the append failed) hands them back.
   */
  takeDelta(maxRows = Infinity): JournalDelta {
    const batch: ClickBatch = { rollups: [], counts: new Map() };
    const taken: { slot: number; row: ExtraRow | 'first' | 'count'; n: number }[] = [];
    let i = 0;
    while (i < this.dirtyCount && batch.rollups.length < maxRows) {
      const slot = this.dirty[i++]!;
      this.dirtyFlags[slot] = 0;
      const linkId = this.linkIds[slot]!;
      const first = this.clicks[slot]! - this.journaled[slot]!;
      if (this.dims[slot]! >= 0 && first > 0) {
        this.journaled[slot]! += first;
        batch.rollups.push(this.aggregate(linkId, this.dims[slot]!, first));
        taken.push({ slot, row: 'first', n: first });
      }
      for (const e of this.extras[slot] ?? []) {
        const n = e.clicks - e.journaled;
        if (n === 0) continue;
        e.journaled += n;
        batch.rollups.push(this.aggregate(linkId, e.dims, n));
        taken.push({ slot, row: e, n });
      }
      const n = this.counts[slot]! - this.countsJournaled[slot]!;
      if (n > 0) {
        this.countsJournaled[slot]! += n;
        batch.counts.set(linkId, n);
        taken.push({ slot, row: 'count', n });
      }
    }
    this.dirty.copyWithin(0, i, this.dirtyCount);
    this.dirtyCount -= i;
    return {
      batch,
      rollback: () => {
        for (const t of taken) {
          if (t.row === 'first') this.journaled[t.slot]! -= t.n;
          else if (t.row === 'count') this.countsJournaled[t.slot]! -= t.n;
          else t.row.journaled -= t.n;
          this.markDirty(t.slot);
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
    for (let i = 0; i < this.dirtyCount; i++) {
      const slot = this.dirty[i]!;
      this.dirtyFlags[slot] = 0;
      const linkId = this.linkIds[slot]!;
      const first = this.clicks[slot]! - this.journaled[slot]!;
      if (this.dims[slot]! >= 0 && first > 0) {
        this.clicks[slot] = this.journaled[slot]!;
        rest.addToRow(linkId, rest.slotOf.get(linkId), rest.table.intern(this.table.get(this.dims[slot]!)), first, 0, Infinity);
      }
      for (const e of this.extras[slot] ?? []) {
        const n = e.clicks - e.journaled;
        if (n === 0) continue;
        e.clicks = e.journaled;
        rest.addToRow(linkId, rest.slotOf.get(linkId), rest.table.intern(this.table.get(e.dims)), n, 0, Infinity);
      }
      const n = this.counts[slot]! - this.countsJournaled[slot]!;
      if (n > 0) {
        this.counts[slot] = this.countsJournaled[slot]!;
        rest.addToCount(linkId, n, 0);
      }
    }
    this.dirtyCount = 0;
    return rest;
  }

  /** Clicks held for the link's running count, for links above `afterLinkId`. */
  count(linkId: number, afterLinkId = 0): number {
    if (linkId <= afterLinkId) return 0;
    const slot = this.slotOf.get(linkId);
    return slot === undefined ? 0 : this.counts[slot]!;
  }

  /** The link's rows within [fromDay, toDay], for links above `afterLinkId`. */
  rowsOf(linkId: number, fromDay: string, toDay: string, afterLinkId = 0): ClickAggregate[] {
    const slot = this.slotOf.get(linkId);
    if (linkId <= afterLinkId || slot === undefined) return [];
    return this.rowsAt(slot).filter((r) => r.day >= fromDay && r.day <= toDay);
  }

  /**
   * Everything for links above `afterLinkId`, as batches in ascending link id, each holding
   * whole links and about `partRows` rows (more when one link has more), with the last link id
   * of each. The cut depends only on the contents, so the same clicks always give the same parts.
   */
  *parts(partRows: number, afterLinkId = 0): Generator<{ batch: ClickBatch; lastLinkId: number }> {
    const ids = [...this.slotOf.keys()].filter((id) => id > afterLinkId).sort((a, b) => a - b);
    let i = 0;
    while (i < ids.length) {
      const batch: ClickBatch = { rollups: [], counts: new Map() };
      let lastLinkId = 0;
      while (i < ids.length && batch.rollups.length + batch.counts.size < partRows) {
        const linkId = ids[i++]!;
        const slot = this.slotOf.get(linkId)!;
        batch.rollups.push(...this.rowsAt(slot));
        if (this.counts[slot]! > 0) batch.counts.set(linkId, this.counts[slot]!);
        lastLinkId = linkId;
      }
      yield { batch, lastLinkId };
    }
  }

  /** The slot's rows with clicks, as aggregates. */
  private rowsAt(slot: number): ClickAggregate[] {
    const linkId = this.linkIds[slot]!;
    const out: ClickAggregate[] = [];
    if (this.dims[slot]! >= 0 && this.clicks[slot]! > 0) out.push(this.aggregate(linkId, this.dims[slot]!, this.clicks[slot]!));
    for (const e of this.extras[slot] ?? []) if (e.clicks > 0) out.push(this.aggregate(linkId, e.dims, e.clicks));
    return out;
  }

  private aggregate(linkId: number, dims: number, clicks: number): ClickAggregate {
    const d = this.table.get(dims);
    return { linkId, day: d.day, referrer: d.referrer, browser: d.browser, os: d.os, bot: d.bot, clicks };
  }

  /** Adds to the link's row with `dimsId`, making it (false when that would pass maxRows). */
  private addToRow(linkId: number, slot: number | undefined, dimsId: number, n: number, journaled: number, maxRows: number): boolean {
    if (slot === undefined) {
      if (this.rowCount >= maxRows) return false;
      slot = this.newSlot(linkId, dimsId);
      this.rowCount++;
      this.clicks[slot] = n;
      this.journaled[slot] = journaled;
    } else if (this.dims[slot] === dimsId) {
      this.clicks[slot]! += n;
      this.journaled[slot]! += journaled;
    } else if (this.dims[slot] === -1) {
      if (this.rowCount >= maxRows) return false;
      this.dims[slot] = dimsId;
      this.rowCount++;
      this.clicks[slot] = n;
      this.journaled[slot] = journaled;
    } else {
      const extras = (this.extras[slot] ??= []);
      const row = extras.find((e) => e.dims === dimsId);
      if (row) {
        row.clicks += n;
        row.journaled += journaled;
      } else {
        if (this.rowCount >= maxRows) return false;
        extras.push({ dims: dimsId, clicks: n, journaled });
        this.rowCount++;
      }
    }
    if (n > journaled) this.markDirty(slot);
    return true;
  }

  private addToCount(linkId: number, n: number, journaled: number): void {
    if (n === 0) return;
    const slot = this.slotOf.get(linkId) ?? this.newSlot(linkId, -1);
    this.counts[slot]! += n;
    this.countsJournaled[slot]! += journaled;
    if (n > journaled) this.markDirty(slot);
  }

  private markDirty(slot: number): void {
    if (this.dirtyFlags[slot] === 1) return;
    this.dirtyFlags[slot] = 1;
    if (this.dirtyCount === this.dirty.length) this.dirty = grow(this.dirty, this.dirty.length * 2);
    this.dirty[this.dirtyCount++] = slot;
  }

  private newSlot(linkId: number, dimsId: number): number {
    if (this.slots === this.linkIds.length) {
      const size = this.slots * 2;
      this.linkIds = grow(this.linkIds, size);
      this.dims = grow(this.dims, size);
      this.clicks = grow(this.clicks, size);
      this.journaled = grow(this.journaled, size);
      this.counts = grow(this.counts, size);
      this.countsJournaled = grow(this.countsJournaled, size);
      this.dirtyFlags = grow(this.dirtyFlags, size);
    }
    const slot = this.slots++;
    this.slotOf.set(linkId, slot);
    this.linkIds[slot] = linkId;
    this.dims[slot] = dimsId;
    return slot;
  }
}

type TypedArray = Float64Array | Int32Array | Uint32Array | Uint8Array;

function grow<T extends TypedArray>(a: T, size: number): T {
  const next = new (a.constructor as new (n: number) => T)(size);
  next.set(a);
  return next;
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

import type { ImportResult, SkippedRow } from '../shortener/use-cases/import-links.js';

export const SHOWN_SKIPS = 20;

/** Short names of the reasons rows are skipped for, by code. */
const REASONS: Record<string, string> = {
  INVALID_URL: 'invalid url',
  INVALID_ALIAS: 'invalid alias',
  RESERVED_ALIAS: 'reserved alias',
  ALIAS_TAKEN: 'alias taken',
  EXPIRED: 'expired',
  VALIDATION_ERROR: 'invalid field',
  ALREADY_SHORTENED: 'url already shortened',
  MALFORMED_ROW: 'malformed row',
  KEY_TAKEN: 'generated key taken meanwhile',
};

export function reasonOf(code: string): string {
  return REASONS[code] ?? code.toLowerCase().replaceAll('_', ' ');
}

/**
 * Collects skipped rows for the summary: counts per reason, and the rows themselves (the
 * first `SHOWN_SKIPS` by line number, or all of them when verbose).
 */
export class SkipCollector {
  readonly counts = new Map<string, number>();
  private rows: SkippedRow[] = [];

  constructor(private readonly keepAll: boolean) {}

  add(row: SkippedRow): void {
    this.counts.set(row.code, (this.counts.get(row.code) ?? 0) + 1);
    this.rows.push(row);
    // Rows arrive nearly in order (taken aliases show up when their batch is written).
    if (!this.keepAll && this.rows.length > SHOWN_SKIPS * 4) this.rows = this.sorted().slice(0, SHOWN_SKIPS);
  }

  /** Skips counted by another process (a resumed import): its counts and the rows it kept. */
  restore(counts: Readonly<Record<string, number>>, rows: readonly SkippedRow[]): void {
    for (const [code, n] of Object.entries(counts)) this.counts.set(code, (this.counts.get(code) ?? 0) + n);
    this.rows.push(...rows);
  }

  shown(): SkippedRow[] {
    const rows = this.sorted();
    return this.keepAll ? rows : rows.slice(0, SHOWN_SKIPS);
  }

  private sorted(): SkippedRow[] {
    return this.rows.sort((a, b) => a.line - b.line);
  }
}

/** The lines printed after an import. */
export function importSummary(result: ImportResult, skips: SkipCollector, seconds: number): string[] {
  const rate = Math.round(result.rows / Math.max(seconds, 0.001));
  const lines = [
    `read ${result.rows.toLocaleString('en-US')} rows in ${seconds.toFixed(1)} s (${rate.toLocaleString('en-US')} rows/s)`,
    `created ${result.created.toLocaleString('en-US')}`,
  ];
  const counts = [...skips.counts.entries()].sort((a, b) => b[1] - a[1]);
  const byReason = counts.map(([code, n]) => `${reasonOf(code)} ${n.toLocaleString('en-US')}`).join(', ');
  lines.push(`skipped ${result.skipped.toLocaleString('en-US')}${byReason ? `: ${byReason}` : ''}`);
  const shown = skips.shown();
  if (shown.length > 0) {
    const all = shown.length === result.skipped;
    lines.push(all ? 'skipped rows:' : `first ${shown.length} skipped rows (--verbose lists all):`);
    for (const s of shown) lines.push(`  line ${s.line}: ${reasonOf(s.code)} (${s.code}): ${s.message}`);
  }
  return lines;
}

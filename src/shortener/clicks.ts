/** Click analytics: one aggregated row per (link, UTC day, referrer host, browser, OS, bot). */

export interface ClickDimensions {
  /** UTC day, `YYYY-MM-DD`. */
  day: string;
  /** Referrer host, '' when there was none. */
  referrer: string;
  browser: string;
  os: string;
  bot: boolean;
}

export interface ClickAggregate extends ClickDimensions {
  linkId: number;
  clicks: number;
}

export interface ClickBatch {
  /** Rollup rows to add. */
  rollups: ClickAggregate[];
  /** Per link, clicks to add to its running `click_count` (links without max_clicks). */
  counts: Map<number, number>;
}

export interface LinkStats {
  from: string;
  to: string;
  total: number;
  humans: number;
  bots: number;
  daily: { date: string; clicks: number; humans: number; bots: number }[];
  referrers: { host: string; clicks: number }[];
  browsers: { browser: string; clicks: number }[];
  os: { os: string; clicks: number }[];
}

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

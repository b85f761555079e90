import type { Kysely } from 'kysely';
import type { ClickAggregate, LinkStats } from '../../shortener/clicks.js';
import type { Database, SqlDialectName } from './schema.js';
import { binaryText, compareText } from './sql-helpers.js';

const TOP_REFERRERS = 20;
const DAY_MS = 86_400_000;

/**
 * Totals, a zero-filled daily series and top dimensions for one link over [fromDay, toDay].
 * `extra` rows (of this link, within the range: clicks not yet written) count as stored ones.
 */
export async function clickStats(
  db: Kysely<Database>,
  dialect: SqlDialectName,
  linkId: number,
  fromDay: string,
  toDay: string,
  extra: readonly ClickAggregate[] = [],
): Promise<Omit<LinkStats, 'from' | 'to'>> {
  const range = db
    .selectFrom('click_rollups')
    .where('link_id', '=', linkId)
    .where('day', '>=', fromDay)
    .where('day', '<=', toDay);

  const perDay = await range
    .select((eb) => ['day', 'bot', eb.fn.sum<number>('clicks').as('total')])
    .groupBy(['day', 'bot'])
    .execute();
  // A referrer outside the stored top N can only enter the combined top N past the ones the
  // extra rows lift, so N + (distinct extra referrers) stored rows are enough to rank.
  const extraReferrers = new Set(extra.map((r) => r.referrer)).size;
  const referrers = await range
    .select((eb) => ['referrer', eb.fn.sum<number>('clicks').as('total')])
    .groupBy('referrer')
    .orderBy((eb) => eb.fn.sum('clicks'), 'desc')
    .orderBy(binaryText(dialect, 'referrer'))
    .limit(TOP_REFERRERS + extraReferrers)
    .execute();
  const browsers = await range
    .select((eb) => ['browser', eb.fn.sum<number>('clicks').as('total')])
    .groupBy('browser')
    .orderBy((eb) => eb.fn.sum('clicks'), 'desc')
    .orderBy(binaryText(dialect, 'browser'))
    .execute();
  const systems = await range
    .select((eb) => ['os', eb.fn.sum<number>('clicks').as('total')])
    .groupBy('os')
    .orderBy((eb) => eb.fn.sum('clicks'), 'desc')
    .orderBy(binaryText(dialect, 'os'))
    .execute();

  const daily = daysBetween(fromDay, toDay).map((date) => ({ date, clicks: 0, humans: 0, bots: 0 }));
  const byDate = new Map(daily.map((d) => [d.date, d]));
  let humans = 0;
  let bots = 0;
  const addDay = (dayName: string, bot: boolean, n: number): void => {
    const day = byDate.get(dayName);
    if (bot) {
      bots += n;
      if (day) day.bots += n;
    } else {
      humans += n;
      if (day) day.humans += n;
    }
    if (day) day.clicks += n;
  };
  for (const row of perDay) addDay(row.day, Number(row.bot) !== 0, Number(row.total));
  const referrerTotals = totals(referrers.map((r) => [r.referrer, Number(r.total)]));
  const browserTotals = totals(browsers.map((r) => [r.browser, Number(r.total)]));
  const osTotals = totals(systems.map((r) => [r.os, Number(r.total)]));
  for (const r of extra) {
    addDay(r.day, r.bot, r.clicks);
    referrerTotals.set(r.referrer, (referrerTotals.get(r.referrer) ?? 0) + r.clicks);
    browserTotals.set(r.browser, (browserTotals.get(r.browser) ?? 0) + r.clicks);
    osTotals.set(r.os, (osTotals.get(r.os) ?? 0) + r.clicks);
  }

  return {
    total: humans + bots,
    humans,
    bots,
    daily,
    referrers: ranked(referrerTotals, TOP_REFERRERS).map(([host, clicks]) => ({ host: host === '' ? '(direct)' : host, clicks })),
    browsers: ranked(browserTotals).map(([browser, clicks]) => ({ browser, clicks })),
    os: ranked(osTotals).map(([os, clicks]) => ({ os, clicks })),
  };
}

function totals(rows: [string, number][]): Map<string, number> {
  return new Map(rows);
}

/** Most clicks first, ties by name in byte order (as the queries sort). */
function ranked(t: Map<string, number>, limit = Infinity): [string, number][] {
  return [...t].sort((a, b) => b[1] - a[1] || compareText(a[0], b[0])).slice(0, limit);
}

/** Every UTC day from `from` to `to` inclusive (`YYYY-MM-DD`), ascending; empty if from > to. */
function daysBetween(from: string, to: string): string[] {
  const start = Date.parse(`${from}T00:00:00Z`);
  const end = Date.parse(`${to}T00:00:00Z`);
  if (Number.isNaN(start) || Number.isNaN(end)) throw new RangeError(`invalid day range ${from}..${to}`);
  const days: string[] = [];
  for (let t = start; t <= end; t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

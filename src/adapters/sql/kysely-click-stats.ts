import type { Kysely } from 'kysely';
import type { LinkStats } from '../../shortener/clicks.js';
import type { Database, SqlDialectName } from './schema.js';
import { binaryText } from './sql-helpers.js';

const TOP_REFERRERS = 20;
const DAY_MS = 86_400_000;

/** Totals, a zero-filled daily series and top dimensions for one link over [fromDay, toDay]. */
export async function clickStats(
  db: Kysely<Database>,
  dialect: SqlDialectName,
  linkId: number,
  fromDay: string,
  toDay: string,
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
  const referrers = await range
    .select((eb) => ['referrer', eb.fn.sum<number>('clicks').as('total')])
    .groupBy('referrer')
    .orderBy((eb) => eb.fn.sum('clicks'), 'desc')
    .orderBy(binaryText(dialect, 'referrer'))
    .limit(TOP_REFERRERS)
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
  for (const row of perDay) {
    const n = Number(row.total);
    const day = byDate.get(row.day);
    if (Number(row.bot) !== 0) {
      bots += n;
      if (day) day.bots += n;
    } else {
      humans += n;
      if (day) day.humans += n;
    }
    if (day) day.clicks += n;
  }

  return {
    total: humans + bots,
    humans,
    bots,
    daily,
    referrers: referrers.map((r) => ({ host: r.referrer === '' ? '(direct)' : r.referrer, clicks: Number(r.total) })),
    browsers: browsers.map((r) => ({ browser: r.browser, clicks: Number(r.total) })),
    os: systems.map((r) => ({ os: r.os, clicks: Number(r.total) })),
  };
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

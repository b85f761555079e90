import type { Actor } from '../../platform/auth/actor.js';
import { validationError, type FieldError } from '../../platform/errors.js';
import { utcDay, type LinkStats } from '../clicks.js';
import type { ShortenerContext } from '../context.js';
import { getLink } from './get-link.js';

const DAY = 86_400_000;
export const STATS_MAX_DAYS = 366;
const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

function parseDay(field: string, text: string, problems: FieldError[]): number | undefined {
  const t = Date.parse(`${text}T00:00:00Z`);
  if (!DAY_PATTERN.test(text) || Number.isNaN(t) || utcDay(t) !== text) {
    problems.push({ field, message: 'must be a date, YYYY-MM-DD' });
    return undefined;
  }
  return t;
}

/**
 * Clicks per day (zero-filled), by referrer, browser and OS, humans vs bots, for [from, to]
 * (UTC days, inclusive; default the last 30). Counts are as of the last flush (≤ 1 s old).
 */
export async function linkStats(
  ctx: ShortenerContext,
  actor: Actor,
  key: string,
  range: { from?: string; to?: string },
): Promise<LinkStats & { key: string; clickCount: number }> {
  const link = await getLink(ctx, actor, key);
  const problems: FieldError[] = [];
  const to = range.to !== undefined ? parseDay('to', range.to, problems) : Date.parse(`${utcDay(ctx.clock.now())}T00:00:00Z`);
  const from = range.from !== undefined ? parseDay('from', range.from, problems) : to !== undefined ? to - 29 * DAY : undefined;
  if (from !== undefined && to !== undefined) {
    if (from > to) problems.push({ field: 'from', message: 'must not be after to' });
    else if ((to - from) / DAY + 1 > STATS_MAX_DAYS) problems.push({ field: 'from', message: `at most ${STATS_MAX_DAYS} days` });
  }
  if (problems.length > 0 || from === undefined || to === undefined) throw validationError(problems);
  const fromDay = utcDay(from);
  const toDay = utcDay(to);
  const stats = await ctx.clicks.stats(link.id, fromDay, toDay);
  return { key: link.key, clickCount: link.clickCount, from: fromDay, to: toDay, ...stats };
}

import { minutesOf, type QuietHours } from './preferences.js';
import { instantsAt, wallTime } from './wall-clock.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

/**
 * When a non-critical notification may go out: `now` itself outside quiet hours, else the
 * first instant at which the recipient's clocks show the end of quiet hours. The window is
 * [start, end) in local wall time, crossing midnight when start > end.
 *
 * DST: on a spring-forward night an end time the clocks skip (02:30 in Berlin on the last
 * Sunday of March) ends quiet hours when the clocks jump past it (03:00 CEST); on a fall-back
 * night the first 02:30 ends them. A recipient who is quiet by the wall clock is quiet: in the
 * repeated hour after a fall-back, local 02:10 is inside 22:00–02:30 again.
 */
export function nextAllowedTime(now: number, quiet: QuietHours | null, zone: string): number {
  if (!quiet) return now;
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  if (start === undefined || end === undefined || start === end) return now;
  const wall = wallTime(now, zone);
  const localDay = Math.floor(wall / DAY) * DAY;
  const minute = Math.floor((wall - localDay) / MINUTE);
  const crosses = start > end;
  const inside = crosses ? minute >= start || minute < end : minute >= start && minute < end;
  if (!inside) return now;
  // The end is later today, unless we are in the evening part of a window that crosses midnight.
  const endDay = crosses && minute >= start ? localDay + DAY : localDay;
  // After the first end instant only in a fall-back overlap's repeated hour: then the second.
  return instantsAt(endDay + end * MINUTE, zone).find((t) => t > now) ?? now;
}

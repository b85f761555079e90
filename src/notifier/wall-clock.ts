/**
 * Wall-clock arithmetic in an IANA zone with nothing but Intl: the local time of an instant,
 * and the instants at which a zone's clocks show a given local time (none in a spring-forward
 * gap, two in a fall-back overlap).
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The local wall time of `instant` in `zone`, as if it were a UTC epoch (ms, seconds kept). */
export function wallTime(instant: number, zone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(instant)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return wall + (((instant % 1000) + 1000) % 1000);
}

/**
 * The instants, ascending, at which the zone's clocks show `wall`: one normally, two in a
 * fall-back overlap, and in a spring-forward gap the one instant the clocks jump past it.
 */
export function instantsAt(wall: number, zone: string): number[] {
  // Zone offsets lie within ±14 h, and a day either side brackets any one transition.
  const offsets = new Set([wallTime(wall - 24 * HOUR, zone) - (wall - 24 * HOUR), wallTime(wall + 24 * HOUR, zone) - (wall + 24 * HOUR)]);
  const exact = [...offsets].map((o) => wall - o).filter((t) => wallTime(t, zone) === wall);
  if (exact.length > 0) return exact.sort((a, b) => a - b);
  // A gap: the clocks jump over `wall`. Find the jump by bisection between the two guesses.
  let lo = wall - Math.max(...offsets);
  let hi = wall - Math.min(...offsets);
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (wallTime(mid, zone) >= wall) hi = mid;
    else lo = mid;
  }
  return [hi];
}

import { describe, expect, it } from 'vitest';
import { nextAllowedTime } from './quiet-hours.js';
import { instantsAt, wallTime } from './wall-clock.js';

const at = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString();
const night = { start: '22:00', end: '07:00' };

describe('nextAllowedTime', () => {
  it('returns now without quiet hours or outside them', () => {
    const now = at('2026-06-01T10:00:00Z'); // 12:00 in Berlin
    expect(nextAllowedTime(now, null, 'Europe/Berlin')).toBe(now);
    expect(nextAllowedTime(now, night, 'Europe/Berlin')).toBe(now);
  });

  it.each([
    // [now (UTC), zone, quiet, expected (UTC)]
    ['2026-06-01T20:30:00Z', 'Europe/Berlin', night, '2026-06-02T05:00:00Z'], // 22:30 CEST → 07:00 next day
    ['2026-06-01T19:59:00Z', 'Europe/Berlin', night, '2026-06-01T19:59:00Z'], // 21:59: not yet
    ['2026-06-01T20:00:00Z', 'Europe/Berlin', night, '2026-06-02T05:00:00Z'], // 22:00: start is inside
    ['2026-06-02T03:00:00Z', 'Europe/Berlin', night, '2026-06-02T05:00:00Z'], // 05:00 after midnight
    ['2026-06-02T05:00:00Z', 'Europe/Berlin', night, '2026-06-02T05:00:00Z'], // 07:00: end is outside
    ['2026-01-15T21:30:00Z', 'Europe/Berlin', night, '2026-01-16T06:00:00Z'], // winter: CET
    ['2026-06-01T14:00:00Z', 'Asia/Tokyo', night, '2026-06-01T22:00:00Z'], // 23:00 JST → 07:00 JST
    ['2026-06-01T12:59:00Z', 'Asia/Tokyo', night, '2026-06-01T12:59:00Z'], // 21:59 JST: not yet
    ['2026-06-01T13:00:00Z', 'Asia/Tokyo', night, '2026-06-01T22:00:00Z'], // 22:00 JST: inside
    ['2026-06-01T03:00:00Z', 'Asia/Tokyo', { start: '09:00', end: '17:30' }, '2026-06-01T08:30:00Z'], // same-day window
    ['2026-06-01T12:00:00Z', 'America/New_York', night, '2026-06-01T12:00:00Z'], // 08:00 EDT
  ])('%s in %s', (now, zone, quiet, expected) => {
    expect(iso(nextAllowedTime(at(now), quiet, zone))).toBe(new Date(expected).toISOString());
  });

  it('Berlin spring forward: a night crossing the switch ends at 07:00 CEST, one hour earlier in UTC', () => {
    // 2026-03-29 02:00 CET → 03:00 CEST. 23:00 CET on the 28th = 22:00Z.
    expect(iso(nextAllowedTime(at('2026-03-28T22:00:00Z'), night, 'Europe/Berlin'))).toBe('2026-03-29T05:00:00.000Z');
  });

  it('Berlin spring forward: an end time the clocks skip ends when they jump past it', () => {
    const quiet = { start: '23:00', end: '02:30' };
    // 01:30 CET = 00:30Z, inside; 02:30 does not exist that night; 03:00 CEST = 01:00Z.
    expect(iso(nextAllowedTime(at('2026-03-29T00:30:00Z'), quiet, 'Europe/Berlin'))).toBe('2026-03-29T01:00:00.000Z');
    // 03:10 CEST: the jump took the clocks past 02:30, so quiet hours are over.
    const after = at('2026-03-29T01:10:00Z');
    expect(nextAllowedTime(after, quiet, 'Europe/Berlin')).toBe(after);
  });

  it('Berlin fall back: a night crossing the switch ends at 07:00 CET, one hour later in UTC', () => {
    // 2026-10-25 03:00 CEST → 02:00 CET. 23:00 CEST on the 24th = 21:00Z.
    expect(iso(nextAllowedTime(at('2026-10-24T21:00:00Z'), night, 'Europe/Berlin'))).toBe('2026-10-25T06:00:00.000Z');
  });

  it('Berlin fall back: an end time inside the repeated hour ends at its first pass, and again at the second', () => {
    const quiet = { start: '22:00', end: '02:30' };
    // 02:10 CEST (first pass) = 00:10Z → 02:30 CEST = 00:30Z.
    expect(iso(nextAllowedTime(at('2026-10-25T00:10:00Z'), quiet, 'Europe/Berlin'))).toBe('2026-10-25T00:30:00.000Z');
    // 02:40 CEST = 00:40Z: past the end.
    expect(nextAllowedTime(at('2026-10-25T00:40:00Z'), quiet, 'Europe/Berlin')).toBe(at('2026-10-25T00:40:00Z'));
    // 02:10 CET (second pass) = 01:10Z: the wall clock is inside again → 02:30 CET = 01:30Z.
    expect(iso(nextAllowedTime(at('2026-10-25T01:10:00Z'), quiet, 'Europe/Berlin'))).toBe('2026-10-25T01:30:00.000Z');
  });

  it('never returns a time in the past, and the result is outside quiet hours (every 7 minutes for two DST weeks)', () => {
    const quiet = { start: '22:15', end: '06:45' };
    for (const [from, zone] of [
      ['2026-03-26T00:00:00Z', 'Europe/Berlin'],
      ['2026-10-22T00:00:00Z', 'Europe/Berlin'],
      ['2026-03-06T00:00:00Z', 'America/New_York'],
      ['2026-03-30T00:00:00Z', 'Asia/Tokyo'],
    ] as const) {
      for (let now = at(from); now < at(from) + 7 * 86_400_000; now += 7 * 60_000) {
        const next = nextAllowedTime(now, quiet, zone);
        expect(next).toBeGreaterThanOrEqual(now);
        expect(next - now).toBeLessThanOrEqual(9.5 * 3_600_000);
        expect(nextAllowedTime(next, quiet, zone)).toBe(next);
        if (next > now) expect(new Date(wallTime(next, zone)).toISOString().slice(11, 16)).toBe('06:45');
      }
    }
  });
});

describe('instantsAt', () => {
  it('finds one instant normally, two in an overlap and the jump in a gap', () => {
    expect(instantsAt(Date.UTC(2026, 5, 1, 12), 'Europe/Berlin').map(iso)).toEqual(['2026-06-01T10:00:00.000Z']);
    expect(instantsAt(Date.UTC(2026, 9, 25, 2, 30), 'Europe/Berlin').map(iso)).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-25T01:30:00.000Z']);
    expect(instantsAt(Date.UTC(2026, 2, 29, 2, 30), 'Europe/Berlin').map(iso)).toEqual(['2026-03-29T01:00:00.000Z']);
    expect(instantsAt(Date.UTC(2026, 5, 1, 7), 'Asia/Tokyo').map(iso)).toEqual(['2026-05-31T22:00:00.000Z']);
  });
});

/**
 * The notifier's per-send time-zone work against a tz library, in one process, rounds
 * alternating A B / B A:
 *
 *   npx tsx bench/platform/quiet-hours.ts
 *
 * - nextAllowedTime (src/notifier/quiet-hours.ts: Intl.DateTimeFormat#formatToParts with cached
 *   formatters, and offset probing for the end instant) against the same computation written
 *   with Luxon 3 (DateTime.fromMillis(…, {zone}), startOf/plus/set), on the same instants: a
 *   mix of zones (Berlin, Tokyo, New York, Sydney) and times, about half inside 22:00–07:00.
 * - decideDelivery for three channels (contact checks, preferences, cap, quiet hours): tny only,
 *   to show what the decision adds on top of the time-zone work.
 *
 * Knobs: BENCH_ROUNDS (9), BENCH_OPS (200,000 per round and side).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decideDelivery, type DecisionInput } from '../../src/notifier/decide-delivery.js';
import type { QuietHours } from '../../src/notifier/preferences.js';
import { nextAllowedTime } from '../../src/notifier/quiet-hours.js';
import { describeMachine, machineLine } from '../lib/machine.js';
import { fmt, median, round } from '../lib/stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const OPS = Number(process.env.BENCH_OPS ?? 200_000);

/** The few Luxon calls used here (Luxon ships no types and tny has no @types/luxon). */
interface LuxonDateTime {
  hour: number;
  minute: number;
  startOf(unit: 'day'): LuxonDateTime;
  plus(d: { days: number }): LuxonDateTime;
  set(v: { hour: number; minute: number }): LuxonDateTime;
  toMillis(): number;
}
const require = createRequire(import.meta.url);
const luxon = require('luxon') as { DateTime: { fromMillis(ms: number, o: { zone: string }): LuxonDateTime }; VERSION: string };

function luxonNextAllowed(now: number, q: { start: number; end: number }, zone: string): number {
  const local = luxon.DateTime.fromMillis(now, { zone });
  const minute = local.hour * 60 + local.minute;
  const crosses = q.start > q.end;
  const inside = crosses ? minute >= q.start || minute < q.end : minute >= q.start && minute < q.end;
  if (!inside) return now;
  let day = local.startOf('day');
  if (crosses && minute >= q.start) day = day.plus({ days: 1 });
  const end = day.set({ hour: Math.floor(q.end / 60), minute: q.end % 60 }).toMillis();
  return end > now ? end : now;
}

const quiet: QuietHours = { start: '22:00', end: '07:00' };
const quietMinutes = { start: 22 * 60, end: 7 * 60 };
const zones = ['Europe/Berlin', 'Asia/Tokyo', 'America/New_York', 'Australia/Sydney'];
// Deterministic instants spread over a year (so both DST states occur), 4,096 of them.
const samples = Array.from({ length: 4096 }, (_, i) => ({
  now: Date.UTC(2026, 0, 1) + ((i * 2_654_435_761) % (365 * 86_400_000)),
  zone: zones[i % zones.length]!,
}));

let sink = 0;
function timeNs(fn: (now: number, zone: string) => number): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) {
    const s = samples[i & 4095]!;
    sink += fn(s.now, s.zone) & 1;
  }
  return Number(process.hrtime.bigint() - started) / OPS;
}

const tny = (now: number, zone: string) => nextAllowedTime(now, quiet, zone);
const lux = (now: number, zone: string) => luxonNextAllowed(now, quietMinutes, zone);

const disagreements = samples.filter((s) => tny(s.now, s.zone) !== lux(s.now, s.zone)).length;
const inside = samples.filter((s) => tny(s.now, s.zone) !== s.now).length;

const contact = (kind: 'email' | 'web_push', id: number) => ({
  id, accountId: 1, recipientId: 'r', kind, address: 'a', keys: null, valid: true, createdAt: 0, updatedAt: 0,
});
const decision = (now: number, zone: string): number =>
  decideDelivery({
    recipient: { timeZone: zone },
    contacts: [contact('email', 1), contact('web_push', 2)],
    category: { name: 'social', critical: false, frequencyCap: { count: 10, windowMs: 3_600_000 } },
    preferences: { optOut: false, categories: { social: { enabled: true, channels: { sms: false } } }, quietHours: quiet },
    channels: ['web_push', 'email', 'sms'],
    sentInCapWindow: 3,
    now,
  } satisfies DecisionInput).length;

// Warm-up, then rounds alternating which side goes first.
timeNs(tny);
timeNs(lux);
timeNs(decision);
const results = { tny: [] as number[], luxon: [] as number[], decide: [] as number[], ratio: [] as number[] };
for (let r = 0; r < ROUNDS; r++) {
  const [a, b] = r % 2 === 0 ? [tny, lux] : [lux, tny];
  const first = timeNs(a);
  const second = timeNs(b);
  const tnyNs = r % 2 === 0 ? first : second;
  const luxNs = r % 2 === 0 ? second : first;
  results.tny.push(tnyNs);
  results.luxon.push(luxNs);
  results.ratio.push(tnyNs / luxNs);
  results.decide.push(timeNs(decision));
  console.log(`  round ${r + 1}/${ROUNDS}  tny ${fmt(tnyNs, 0)} ns  luxon ${fmt(luxNs, 0)} ns  ratio ${fmt(tnyNs / luxNs)}  decide(3 channels) ${fmt(results.decide.at(-1)!, 0)} ns`);
}

const machine = describeMachine();
const summary = {
  nextAllowedTime: { tnyNsPerOp: round(median(results.tny), 1), luxonNsPerOp: round(median(results.luxon), 1), ratioTnyToLuxon: round(median(results.ratio), 3) },
  decideDelivery3Channels: { nsPerOp: round(median(results.decide), 1) },
  samples: samples.length,
  insideQuietHours: inside,
  disagreementsWithLuxon: disagreements,
};
console.log(`\n${machineLine(machine)}; luxon ${luxon.VERSION}; ${ROUNDS} rounds × ${OPS.toLocaleString('en-US')} ops`);
console.log(`nextAllowedTime  tny ${fmt(summary.nextAllowedTime.tnyNsPerOp, 0)} ns/op  luxon ${fmt(summary.nextAllowedTime.luxonNsPerOp, 0)} ns/op  ratio (median of rounds) ${fmt(summary.nextAllowedTime.ratioTnyToLuxon)}×`);
console.log(`decideDelivery (3 channels) ${fmt(summary.decideDelivery3Channels.nsPerOp, 0)} ns/op`);
console.log(`${inside} of ${samples.length} instants inside quiet hours; tny and luxon disagree on ${disagreements}`);
if (sink === -1) console.log('');

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(
  join(root, 'bench/results/platform-quiet-hours-latest.json'),
  JSON.stringify({ benchmark: 'platform-quiet-hours', date: new Date().toISOString(), machine, node: process.version, luxon: luxon.VERSION, rounds: ROUNDS, opsPerRound: OPS, ...summary, perRound: results }, null, 2) + '\n',
);

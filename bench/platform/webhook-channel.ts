/**
 * Webhook channel: what tny's WebhookChannel costs per send over a bare undici POST of the same
 * body, against one local receiver, in the same run, rounds rotating the order of the subjects.
 *
 *   npx tsx bench/platform/webhook-channel.ts
 *
 * Subjects (each keeps CONCURRENCY sends in flight until SENDS are done, per round):
 * - `undici`: baseline, `request()` with a plain Agent, no signature, reads the answer.
 * - `guarded`: the same with the SSRF guard's Agent (the check runs per new connection).
 * - `tny`: WebhookChannel.send: JSON body, Standard Webhooks HMAC, guard, bounded read,
 *   classification.
 * The receiver is a separate process (node:http answering 204), so its CPU is not ours.
 * Knobs: BENCH_ROUNDS (7), BENCH_SENDS (4000), BENCH_CONCURRENCY (16).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { WebhookChannel } from '../../src/adapters/channels/webhook-channel.js';
import { SsrfGuard } from '../../src/notifier/channels/ssrf-guard.js';
import { describeMachine, machineLine } from '../lib/machine.js';
import { fmt, fmtInt, median, percentile, round } from '../lib/stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const SENDS = Number(process.env.BENCH_SENDS ?? 4000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

const RECEIVER = `
const http = require('node:http');
const s = http.createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(204); res.end(); }); });
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));
`;

async function startReceiver(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
  return { url: `http://127.0.0.1:${port}/hooks`, stop: () => child.kill() };
}

interface Subject {
  name: string;
  send: (i: number) => Promise<unknown>;
}

async function runRound(subject: Subject): Promise<{ perS: number; p50Us: number; p99Us: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < SENDS) {
      const i = next++;
      const t = performance.now();
      await subject.send(i);
      latencies.push((performance.now() - t) * 1000);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const s = (performance.now() - started) / 1000;
  return { perS: SENDS / s, p50Us: percentile(latencies, 50), p99Us: percentile(latencies, 99) };
}

async function main(): Promise<void> {
  const machine = describeMachine();
  console.log(`webhook channel benchmark on ${machineLine(machine)}`);
  console.log(`${ROUNDS} rounds × ${SENDS} sends, ${CONCURRENCY} in flight, receiver in its own process\n`);
  const receiver = await startReceiver();
  const data = { text: 'Your order has shipped', order: 12345, items: [1, 2, 3] };
  const body = JSON.stringify({ type: 'notification.order', timestamp: new Date().toISOString(), data });
  const plain = new Agent({ connections: CONCURRENCY });
  const guard = new SsrfGuard({ allowedNetworks: ['127.0.0.0/8'] });
  const guarded = guard.dispatcher({ connections: CONCURRENCY });
  const channel = new WebhookChannel({ secret: 'whsec_YmVuY2gtc2VjcmV0LWJlbmNoLXNlY3JldA==', guard });
  const signal = new AbortController().signal;
  const post = (dispatcher: Agent) => async () => {
    const res = await request(receiver.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, dispatcher, signal });
    await res.body.text();
  };
  const subjects: Subject[] = [
    { name: 'undici', send: post(plain) },
    { name: 'guarded', send: post(guarded) },
    {
      name: 'tny',
      send: (i) => channel.send({ channel: 'webhook', url: receiver.url, type: 'notification.order', data }, { idempotencyKey: `dlv_${i}`, signal }),
    },
  ];
  for (const s of subjects) for (let i = 0; i < 500; i++) await s.send(i); // warm up JIT and pools

  const results = new Map(subjects.map((s) => [s.name, [] as Array<{ perS: number; p50Us: number; p99Us: number }>]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = subjects.map((_, i) => subjects[(i + r) % subjects.length]!);
    for (const s of order) {
      const res = await runRound(s);
      results.get(s.name)!.push(res);
      console.log(`  round ${r + 1}/${ROUNDS} ${s.name.padEnd(8)} ${fmtInt(res.perS).padStart(7)} sends/s  p50 ${fmt(res.p50Us, 0)} µs  p99 ${fmt(res.p99Us, 0)} µs`);
    }
  }
  receiver.stop();
  await channel.close();
  await plain.close();
  await guarded.close();

  const summary = subjects.map((s) => {
    const rs = results.get(s.name)!;
    return {
      name: s.name,
      medianPerS: round(median(rs.map((x) => x.perS)), 0),
      minPerS: round(Math.min(...rs.map((x) => x.perS)), 0),
      maxPerS: round(Math.max(...rs.map((x) => x.perS)), 0),
      p50Us: round(median(rs.map((x) => x.p50Us)), 0),
      p99Us: round(median(rs.map((x) => x.p99Us)), 0),
    };
  });
  const base = results.get('undici')!;
  const perRoundRatio = (name: string) => round(median(results.get(name)!.map((x, i) => x.perS / base[i]!.perS)), 3);
  console.log('\nsubject   sends/s (median [min–max])     p50 µs   p99 µs   ratio to undici (median of per-round ratios)');
  for (const s of summary) {
    console.log(`${s.name.padEnd(9)} ${fmtInt(s.medianPerS).padStart(7)} [${fmtInt(s.minPerS)}–${fmtInt(s.maxPerS)}]`.padEnd(42) + `${String(s.p50Us).padStart(6)}   ${String(s.p99Us).padStart(6)}   ${perRoundRatio(s.name)}`);
  }

  const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'platform-webhook-channel-latest.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(
    file,
    JSON.stringify(
      {
        benchmark: 'platform-webhook-channel',
        date: new Date().toISOString(),
        machine,
        settings: { rounds: ROUNDS, sendsPerRound: SENDS, concurrency: CONCURRENCY, baseline: 'undici request() with a plain Agent, same body, no signature' },
        subjects: summary,
        perRoundRatioToUndici: Object.fromEntries(subjects.map((s) => [s.name, perRoundRatio(s.name)])),
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`\nresults: ${file}`);
}

await main();

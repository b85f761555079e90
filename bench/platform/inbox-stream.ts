/**
 * In-app delivery to live browsers: from `InAppChannel.send` until every open Server-Sent
 * Events stream of the recipient has the event, against a bare node:http SSE server that
 * writes the same event bytes to its open responses from memory (the Node ceiling: no
 * storage, no routing, no auth). Rounds alternate tny / baseline and baseline / tny.
 *
 *   npx tsx bench/platform/inbox-stream.ts
 *
 * tny's side includes the SQLite insert (the message is stored before it is published, WAL,
 * the default SQLITE_SYNCHRONOUS), the hub fan-out and the SSE write. Messages are sent one
 * after the other (latency, not throughput under concurrency). Clients run in this process
 * over loopback. Knobs: BENCH_ROUNDS (6), BENCH_MESSAGES (300 per round and side), BENCH_STREAMS (4).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/config.js';
import { buildApp } from '../../src/http/app.js';
import { createContainer } from '../../src/main/container.js';
import { createLogger } from '../../src/main/logger.js';
import { createKey } from '../../src/platform/auth/manage-keys.js';
import { systemClock } from '../../src/platform/clock.js';
import { describeMachine, machineLine } from '../lib/machine.js';
import { fmt, median, percentile, round } from '../lib/stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 300);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 4);
const signal = new AbortController().signal;

/** Counts SSE `id:` events per stream and wakes the waiter when all streams reached a count. */
class Streams {
  private counts: number[] = [];
  private waiter: { target: number; resolve: () => void } | undefined;
  private readonly controllers: AbortController[] = [];

  async open(url: string, headers: Record<string, string>, n: number): Promise<void> {
    this.counts = Array(n).fill(0);
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const controller = new AbortController();
        this.controllers.push(controller);
        const res = await fetch(url, { headers, signal: controller.signal });
        if (res.status !== 200 || !res.body) throw new Error(`stream answered ${res.status}`);
        const decoder = new TextDecoder();
        void (async () => {
          try {
            for await (const chunk of res.body!) {
              const text = decoder.decode(chunk, { stream: true });
              for (let at = text.indexOf('\nid: '); at !== -1; at = text.indexOf('\nid: ', at + 1)) this.counts[i]!++;
              if (text.startsWith('id: ')) this.counts[i]!++;
              this.check();
            }
          } catch {
            // closed by the benchmark
          }
        })();
      }),
    );
  }

  private check(): void {
    if (this.waiter && this.counts.every((c) => c >= this.waiter!.target)) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve();
    }
  }

  reached(target: number): Promise<void> {
    return new Promise((resolve) => {
      this.waiter = { target, resolve };
      this.check();
    });
  }

  close(): void {
    this.controllers.forEach((c) => c.abort());
  }
}

interface Side {
  name: string;
  url: string;
  headers: Record<string, string>;
  send(i: number): Promise<void>;
  close(): Promise<void>;
}

async function tnySide(): Promise<Side> {
  const dir = mkdtempSync(join(tmpdir(), 'tny-bench-inbox-'));
  const config = loadConfig({ DATA_DIR: dir, BASE_URL: 'http://tny.bench', LOG_LEVEL: 'silent', NOTIFY_WORKERS: '0' });
  const container = await createContainer(config, createLogger('silent'), systemClock);
  const app = await buildApp(container);
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const { token } = await createKey(container.accounts, { name: 'bench' }, Date.now());
  const actor = (await container.auth.authenticate(token))!;
  await container.notifier!.stores.recipients.insert({ accountId: actor.accountId, id: 'r', locale: 'en', timeZone: 'UTC', now: Date.now() });
  let key = 0;
  return {
    name: 'tny',
    url: `${base}/api/v1/recipients/r/inbox/stream`,
    headers: { authorization: `Bearer ${token}` },
    async send(i) {
      const message = { channel: 'in_app', accountId: actor.accountId, recipientId: 'r', title: `Message ${i}`, body: 'You have a new follower.' } as const;
      await container.inAppChannel.send(message, { idempotencyKey: `k-${key++}`, signal });
    },
    async close() {
      app.server.closeAllConnections();
      await app.close();
      await container.lifecycle.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function baselineSide(): Promise<Side> {
  const open = new Set<ServerResponse>();
  let id = 0;
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    res.write(': connected\n\n');
    open.add(res);
    req.on('close', () => open.delete(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    name: 'node:http SSE from memory',
    url: `http://127.0.0.1:${port}/stream`,
    headers: {},
    send(i) {
      id++;
      const data = JSON.stringify({ id: String(id), title: `Message ${i}`, body: 'You have a new follower.', data: null, created_at: new Date().toISOString(), read_at: null });
      for (const res of open) res.write(`id: ${id}\nevent: message\ndata: ${data}\n\n`);
      return Promise.resolve();
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Per-message latency (µs) from send until all streams have it. */
async function round_(side: Side): Promise<number[]> {
  const streams = new Streams();
  await streams.open(side.url, side.headers, STREAMS);
  const latencies: number[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const started = process.hrtime.bigint();
    await side.send(i);
    await streams.reached(i + 1);
    latencies.push(Number(process.hrtime.bigint() - started) / 1000);
  }
  streams.close();
  return latencies;
}

const machine = describeMachine();
console.log(machineLine(machine));
console.log(`${ROUNDS} rounds × ${MESSAGES} messages, ${STREAMS} streams per recipient\n`);
const sides = [await tnySide(), await baselineSide()];
const results = new Map<string, { p50: number[]; p99: number[] }>(sides.map((s) => [s.name, { p50: [], p99: [] }]));
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? sides : [...sides].reverse();
  for (const side of order) {
    const lat = await round_(side);
    const entry = results.get(side.name)!;
    entry.p50.push(percentile(lat, 50));
    entry.p99.push(percentile(lat, 99));
  }
}
await Promise.all(sides.map((s) => s.close()));

const summary = sides.map((s) => {
  const e = results.get(s.name)!;
  return { name: s.name, p50Us: round(median(e.p50), 1), p99Us: round(median(e.p99), 1), roundsP50Us: e.p50.map((v) => round(v, 1)), roundsP99Us: e.p99.map((v) => round(v, 1)) };
});
for (const s of summary) console.log(`${s.name.padEnd(28)} p50 ${fmt(s.p50Us, 1)} µs   p99 ${fmt(s.p99Us, 1)} µs   (rounds p50: ${s.roundsP50Us.join(', ')})`);
const ratioP50 = summary[0]!.p50Us / summary[1]!.p50Us;
const ratioP99 = summary[0]!.p99Us / summary[1]!.p99Us;
console.log(`\ntny / baseline: p50 ×${fmt(ratioP50)}, p99 ×${fmt(ratioP99)}`);

const out = join(dirname(fileURLToPath(import.meta.url)), '../results/platform-inbox-stream-latest.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify({ benchmark: 'platform-inbox-stream', date: new Date().toISOString(), machine, rounds: ROUNDS, messages: MESSAGES, streams: STREAMS, results: summary, ratio: { p50: round(ratioP50, 2), p99: round(ratioP99, 2) } }, null, 2) + '\n',
);
console.log(`results: ${out}`);

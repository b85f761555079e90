import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { RedisClickCounter } from '../../src/adapters/redis/redis-click-counter.js';
import { KyselyClickRepository } from '../../src/adapters/sql/kysely-click-repository.js';
import { KyselyLinkRepository } from '../../src/adapters/sql/kysely-link-repository.js';
import { systemClock } from '../../src/platform/clock.js';
import { ClickRecorder } from '../../src/shortener/click-recorder.js';
import type { Link } from '../../src/shortener/link.js';
import { clickTotals, deleteKeys, FIREFOX, GOOGLEBOT } from '../contracts/redis-click-support.js';
import type { FlusherWorkerOptions } from '../helpers/click-flusher-worker.js';
import { describeEachDatabase, useFreshDatabase, type DatabaseLocation } from '../helpers/databases.js';
import { newLink } from '../helpers/new-link.js';
import { describeWithRedis, uniquePrefix } from '../helpers/redis.js';

const workerFile = fileURLToPath(new URL('../helpers/click-flusher-worker.ts', import.meta.url));

interface Worker {
  child: ChildProcess;
  out: () => string;
  exited: Promise<void>;
  /** Resolves when the worker prints a line starting with `word`. */
  waitFor(word: string, ms: number): Promise<void>;
}

const alive = new Set<ChildProcess>();

function startFlusher(location: DatabaseLocation, options: FlusherWorkerOptions): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', workerFile, JSON.stringify(location), JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  alive.add(child);
  let out = '';
  let err = '';
  const waiters: { word: string; resolve: () => void }[] = [];
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    for (const w of waiters.splice(0)) {
      if (s.split('\n').some((line) => line.startsWith(w.word))) w.resolve();
      else waiters.push(w);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<void>((resolve) => child.once('exit', () => (alive.delete(child), resolve())));
  return {
    child,
    out: () => out,
    exited,
    waitFor(word, ms) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`flusher never printed "${word}" in ${ms} ms:\n${out}\n${err}`)), ms);
        waiters.push({ word, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
}

afterEach(async () => {
  for (const child of alive) child.kill('SIGKILL');
  alive.clear();
});

describeWithRedis('Redis click flush, flusher killed with SIGKILL', (url) => {
  describeEachDatabase('kill -9 in every window of the handoff while clicks flow', (factory) => {
    const database = useFreshDatabase(factory);

    it('the database ends with exactly the clicks sent', async () => {
      const d = database();
      const links: Link[] = [];
      const repo = new KyselyLinkRepository(d.db, d.dialect);
      for (let i = 0; i < 12; i++) {
        const link = await repo.insert(newLink(`k${i}`, { maxClicks: i < 2 ? 1_000_000 : null }));
        if (link === 'conflict') throw new Error('conflict');
        links.push(link);
      }
      const prefix = uniquePrefix();
      const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
      await redis.connect();
      const fallback = new ClickRecorder(new KyselyClickRepository(d.db, d.dialect), systemClock, {
        intervalMs: 200,
        maxPending: 100_000,
        maxBuffered: 1_000_000,
      });
      const counter = new RedisClickCounter(redis, fallback, systemClock, { prefix, maxInFlight: 64, reportIntervalMs: 1000 });
      const worker = (pauseMs: number) =>
        startFlusher(d.location, { redisUrl: url, prefix, intervalMs: 30, leaseTtlMs: 400, pauseMs });

      // Clicks flow the whole time: 40 every 5 ms, over the links, two referrers, a bot.
      let sent = 0;
      let flowing = true;
      const producer = (async () => {
        let i = 0;
        while (flowing) {
          for (let j = 0; j < 40; j++, i++) {
            counter.record(links[i % links.length]!, i % 3 === 0 ? 'https://r.example/' : undefined, i % 7 === 0 ? GOOGLEBOT : FIREFOX);
          }
          sent += 40;
          await sleep(5);
        }
      })();

      const windows = ['renamed', 'writing', 'committed'];
      let logs = '';
      try {
        for (let kill = 0; kill < 6; kill++) {
          const w = worker(250);
          await w.waitFor(windows[kill % 3]!, 15_000);
          w.child.kill('SIGKILL');
          await w.exited;
          logs += w.out();
        }
        flowing = false;
        await producer;
        await counter.close(); // the last batch reaches Redis; nothing went to the fallback
        expect(counter.bufferStats().fallbackClicks).toBe(0);

        const last = worker(0);
        await last.waitFor('started', 15_000);
        const deadline = Date.now() + 15_000;
        let total = 0;
        while (Date.now() < deadline) {
          total = sum((await clickTotals(d.db)).rollups);
          if (total >= sent && (await redis.keys(`${prefix}*ing:*`)).length === 0 && (await redis.exists(`${prefix}pending`)) === 0) break;
          await sleep(50);
        }
        last.child.kill('SIGTERM');
        await last.exited;
        logs += last.out();

        const totals = await clickTotals(d.db);
        expect(sum(totals.rollups)).toBe(sent);
        // Running counts: every click of links without max_clicks, none of the two with it.
        const unlimited = links.slice(2).map((l) => l.id);
        expect(unlimited.reduce((s, id) => s + (totals.counts.get(id) ?? 0), 0)).toBe(unlimited.reduce((s, id) => s + (totals.rollups.get(id) ?? 0), 0));
        expect(totals.counts.get(links[0]!.id)).toBe(0);
        // A flush killed after its commit was found applied and only deleted.
        expect(logs).toMatch(/^flushed \S+ false /m);
        expect(logs).toMatch(/^flushed \S+ true /m);
        expect(sent).toBeGreaterThan(1000);
      } finally {
        flowing = false;
        await producer;
        await deleteKeys(redis, prefix);
        redis.disconnect();
      }
    }, 60_000);
  });
});

function sum(m: Map<number, number>): number {
  let s = 0;
  for (const v of m.values()) s += v;
  return s;
}

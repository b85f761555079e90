import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { murmur3_32String } from '../../src/platform/hashing/murmur3.js';
import { replay, type HistoryStep, type Placement } from './hashing-worker.js';

const workerFile = fileURLToPath(new URL('./hashing-worker.ts', import.meta.url));
const KEYS = 20_000;

function runWorker(history: HistoryStep[], probes: number[], env: NodeJS.ProcessEnv): Promise<Placement & { pid: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', workerFile, JSON.stringify([history, KEYS, probes])],
      { timeout: 30_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`hashing worker failed: ${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as Placement & { pid: number });
      },
    );
  });
}

// Shards as the scale-out issue would name them, plus two ids whose first points collide
// (see hash-ring.test.ts): the only place where the order of ids, and so possibly insertion
// order or locale, could leak into placement.
const ids = ['pg-0', 'pg-1', 'pg-2', 'pg-3', 'pg-4', 'pg-5', 'Shard-84459', 'shard-2356'];
const weights = [1, 2, 1, 0.5, 1, 3, 1, 1];
const collision = murmur3_32String('shard-2356#0');

describe('consistent hashing across processes', () => {
  it('places every key the same in separate processes with different histories, orders and locales', async () => {
    const inOrder: HistoryStep[] = ids.map((id, i) => ['add', id, weights[i]!]);
    const reversed: HistoryStep[] = [...inOrder].reverse();
    // The same final membership reached the long way: an extra node, removals, weight changes.
    const roundabout: HistoryStep[] = [
      ['add', 'pg-temp', 4],
      ...inOrder.slice(4),
      ['weight', 'pg-5', 1],
      ['remove', 'Shard-84459'],
      ...inOrder.slice(0, 4),
      ['add', 'Shard-84459', 1],
      ['weight', 'pg-5', 3],
      ['remove', 'pg-temp'],
    ];
    const probes = [0, 0xffffffff, collision - 1, collision, collision + 1];

    const [a, b, c] = await Promise.all([
      runWorker(reversed, probes, { LANG: 'tr_TR.UTF-8', LC_ALL: 'tr_TR.UTF-8', TZ: 'Asia/Tokyo' }),
      runWorker(roundabout, probes, { LANG: 'C', LC_ALL: 'C', TZ: 'UTC' }),
      runWorker(inOrder, probes, { LANG: 'ja_JP.UTF-8', LC_ALL: 'ja_JP.UTF-8' }),
    ]);
    const here = replay(inOrder, KEYS, probes);

    expect(new Set([a.pid, b.pid, c.pid, process.pid]).size).toBe(4);
    for (const other of [a, b, c]) {
      expect(other.owners).toEqual(here.owners);
      expect(other.replicas).toEqual(here.replicas);
      expect(other.probes).toEqual(here.probes);
      expect(other.buckets).toEqual(here.buckets);
    }
    expect(here.probes[3]).toBe('Shard-84459');
    // Every node owns some keys, so the comparison covered all of them.
    expect(new Set(here.owners).size).toBe(ids.length);
  });
});

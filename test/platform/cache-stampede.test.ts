import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { describeWithRedis, useRedis } from '../helpers/redis.js';
import type { StampedeTask } from './cache-stampede-worker.js';

const workerFile = fileURLToPath(new URL('./cache-stampede-worker.ts', import.meta.url));
const PROCESSES = 2;
const REQUESTS = 500;

interface Outcome {
  loads: number;
  values: string[];
  answered: number;
}

/** Starts one worker; resolves once it printed "ready", with a function that starts it and awaits its result. */
function startWorker(task: StampedeTask): Promise<() => Promise<Outcome>> {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--import', 'tsx', workerFile, JSON.stringify(task)], {
    stdio: 'pipe',
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      if (!out.startsWith('ready\n')) return;
      child.stdout.off('data', onData);
      out = out.slice('ready\n'.length);
      resolve(async () => {
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.stdin.write('go\n');
        const code = await exited;
        if (code !== 0) throw new Error(`worker exited with ${code}: ${err}`);
        return JSON.parse(out.trim()) as Outcome;
      });
    };
    child.stdout.on('data', onData);
    exited.then((code) => reject(new Error(`worker exited with ${code} before it was ready: ${err}`)), reject);
  });
}

/** Runs PROCESSES workers, all released at once; returns each one's outcome. */
async function stampede(task: StampedeTask): Promise<Outcome[]> {
  const ready = await Promise.all(Array.from({ length: PROCESSES }, () => startWorker(task)));
  return Promise.all(ready.map((go) => go()));
}

describeWithRedis('cache stampede: 2 processes × 500 concurrent requests for one cold key', (url) => {
  const { prefix } = useRedis(url);

  it('loads once in total with the Redis lease, and once per process with singleflight alone', { timeout: 30_000 }, async () => {
    const base = { prefix: `${prefix}stampede:`, requests: REQUESTS, loadMs: 50 };
    const [withRedis, withoutRedis] = await Promise.all([
      stampede({ ...base, redisUrl: url, key: 'cold-with-redis' }),
      stampede({ ...base, redisUrl: null, key: 'cold-without-redis' }),
    ]);
    const total = (outcomes: Outcome[]) => outcomes.reduce((sum, o) => sum + o.loads, 0);
    console.log(
      `[cache-stampede] ${PROCESSES} processes × ${REQUESTS} requests: ` +
        `with Redis lease ${total(withRedis)} load(s) in total (per process: ${withRedis.map((o) => o.loads).join(', ')}); ` +
        `singleflight only ${total(withoutRedis)} load(s) (per process: ${withoutRedis.map((o) => o.loads).join(', ')})`,
    );
    for (const o of [...withRedis, ...withoutRedis]) expect(o.answered).toBe(REQUESTS);
    expect(withRedis.flatMap((o) => o.values)).toEqual(['value of cold-with-redis', 'value of cold-with-redis']);
    expect(total(withRedis)).toBe(1);
    expect(withoutRedis.map((o) => o.loads)).toEqual([1, 1]);
  });
});

import autocannon from 'autocannon';
import { spawn, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pinned, pinning, ROOT } from './process.js';

/** One load run against one server. Latencies in milliseconds. */
export interface LoadResult {
  tool: 'wrk' | 'autocannon';
  durationS: number;
  /** Completed requests (any status). */
  requests: number;
  rps: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** Socket errors and timeouts. */
  socketErrors: number;
  /** Responses with status ≥ 400. */
  errorResponses: number;
}

/** A browser's User-Agent, sent with every request (tny classifies it for click analytics). */
export const USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

export const wrkAvailable =
  process.env.BENCH_TOOL !== 'autocannon' && spawnSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' }).status === 0;

export const loadTool: LoadResult['tool'] = wrkAvailable ? 'wrk' : 'autocannon';

/** With autocannon the generator runs in this process: pin this process to the load CPU. */
if (!wrkAvailable && pinning.enabled) {
  spawnSync('taskset', ['-cp', pinning.loadCpu, String(process.pid)], { stdio: 'ignore' });
}

const WRK_DIR = join(ROOT, 'bench/lib/wrk');

export interface GetLoad {
  baseUrl: string;
  /** Request paths ('/abc'); one path is the hot-key case. */
  paths: readonly string[];
  /** 'random' = uniform with replacement; 'sequential' walks the list in order. */
  order?: 'random' | 'sequential';
  /** Where a sequential walk starts (index into paths). */
  start?: number;
  durationS: number;
  connections: number;
  /** A file with the paths one per line (for wrk); written here when not given. */
  pathsFile?: string;
}

export interface PostLoad {
  baseUrl: string;
  path: string;
  /** Makes every request's URL unique across runs. */
  prefix: string;
  headers: Record<string, string>;
  durationS: number;
  connections: number;
}

/** Writes paths one per line; pass the file to several runs to avoid rewriting it. */
export function writePathsFile(file: string, paths: readonly string[]): string {
  writeFileSync(file, paths.join('\n') + '\n');
  return file;
}

export function runGet(load: GetLoad): Promise<LoadResult> {
  return wrkAvailable ? wrkGet(load) : autocannonGet(load);
}

export function runPost(load: PostLoad): Promise<LoadResult> {
  return wrkAvailable ? wrkPost(load) : autocannonPost(load);
}

// ---------------------------------------------------------------------------------- wrk

function wrkArgs(durationS: number, connections: number, headers: Record<string, string>): string[] {
  const args = ['-t1', `-c${connections}`, `-d${durationS}s`, '--timeout', '10s'];
  for (const [k, v] of Object.entries({ 'User-Agent': USER_AGENT, ...headers })) args.push('-H', `${k}: ${v}`);
  return args;
}

async function wrkGet(load: GetLoad): Promise<LoadResult> {
  const args = wrkArgs(load.durationS, load.connections, {});
  const temp = load.pathsFile ? undefined : join(tmpdir(), `tny-bench-paths-${process.pid}.txt`);
  if (temp) writePathsFile(temp, load.paths);
  const file = load.pathsFile ?? (temp as string);
  args.push('-s', join(WRK_DIR, 'get.lua'), load.baseUrl, '--', file, load.order ?? 'random', String(load.start ?? 0));
  try {
    return await runWrk(args);
  } finally {
    if (temp) rmSync(temp, { force: true });
  }
}

function wrkPost(load: PostLoad): Promise<LoadResult> {
  const args = wrkArgs(load.durationS, load.connections, { 'Content-Type': 'application/json', ...load.headers });
  args.push('-s', join(WRK_DIR, 'create.lua'), load.baseUrl, '--', load.prefix, load.path);
  return runWrk(args);
}

interface WrkJson {
  durationUs: number;
  requests: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: { p50: number; p90: number; p99: number; max: number; mean: number };
}

function runWrk(wrkArguments: string[]): Promise<LoadResult> {
  const [command, args] = pinned(pinning.loadCpu, 'wrk', wrkArguments);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
      if (code !== 0 || !line) return reject(new Error(`wrk failed (exit ${code}):\n${out}`));
      const j = JSON.parse(line.slice('BENCH_JSON '.length)) as WrkJson;
      const durationS = j.durationUs / 1e6;
      const ms = (us: number) => us / 1000;
      resolve({
        tool: 'wrk',
        durationS,
        requests: j.requests,
        rps: j.requests / durationS,
        latencyMs: {
          p50: ms(j.latencyUs.p50),
          p90: ms(j.latencyUs.p90),
          p99: ms(j.latencyUs.p99),
          max: ms(j.latencyUs.max),
          mean: ms(j.latencyUs.mean),
        },
        socketErrors: j.errors.connect + j.errors.read + j.errors.write + j.errors.timeout,
        errorResponses: j.errors.status,
      });
    });
  });
}

// --------------------------------------------------------------------------- autocannon

function fromAutocannon(r: autocannon.Result): LoadResult {
  const requests = r['1xx'] + r['2xx'] + r['3xx'] + r['4xx'] + r['5xx'];
  return {
    tool: 'autocannon',
    durationS: r.duration,
    requests,
    rps: requests / r.duration,
    latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max, mean: r.latency.mean },
    socketErrors: r.errors,
    errorResponses: r['4xx'] + r['5xx'],
  };
}

async function autocannonGet(load: GetLoad): Promise<LoadResult> {
  const { paths } = load;
  let i = (load.start ?? 0) - 1;
  const next =
    load.order === 'sequential'
      ? () => paths[(i = (i + 1) % paths.length)] as string
      : () => paths[Math.floor(Math.random() * paths.length)] as string;
  const result = await autocannon({
    url: load.baseUrl,
    connections: load.connections,
    duration: load.durationS,
    headers: { 'user-agent': USER_AGENT },
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => {
          req.path = next();
          return req;
        },
      },
    ],
  });
  return fromAutocannon(result);
}

async function autocannonPost(load: PostLoad): Promise<LoadResult> {
  let counter = 0;
  const result = await autocannon({
    url: load.baseUrl,
    connections: load.connections,
    duration: load.durationS,
    headers: { 'user-agent': USER_AGENT, 'content-type': 'application/json', ...lower(load.headers) },
    requests: [
      {
        method: 'POST',
        path: load.path,
        setupRequest: (req) => {
          counter++;
          req.body = JSON.stringify({ url: `https://example.com/bench/${load.prefix}/1/${counter}?utm_source=bench` });
          return req;
        },
      },
    ],
  });
  return fromAutocannon(result);
}

function lower(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

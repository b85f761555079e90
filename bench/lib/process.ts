import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, sleep, waitForPort } from './net.js';

/** The repository root (bench/lib/../..). */
export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/**
 * CPU pinning: with taskset and ≥ 2 cores, servers run on core 0 and the load generator on
 * core 1, so they do not steal each other's CPU (set BENCH_PIN=0 to turn it off).
 */
export const pinning = (() => {
  const enabled = process.env.BENCH_PIN !== '0' && cpus().length >= 2 && hasCommand('taskset');
  return { enabled, serverCpu: '0', loadCpu: '1' };
})();

/** Prefixes a command with `taskset -c cpu` when pinning is on (taskset execs: same pid). */
export function pinned(cpu: string, command: string, args: string[]): [string, string[]] {
  return pinning.enabled ? ['taskset', ['-c', cpu, command, ...args]] : [command, args];
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `tny-bench-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface ServerProcess {
  name: string;
  pid: number;
  port: number;
  /** http://127.0.0.1:port */
  url: string;
  child: ChildProcess;
  output(): string;
  alive(): boolean;
  /** Resident set size in MB from /proc/<pid>/status (VmRSS), NaN when unavailable. */
  rssMb(): number;
  /** SIGTERM, then SIGKILL after graceMs; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export interface StartOptions {
  name: string;
  /** Node arguments (script and its arguments), run with process.execPath. */
  args: string[];
  env?: Record<string, string>;
  port?: number;
  cwd?: string;
  readyTimeoutMs?: number;
  /** CPU to pin it to (default: the server CPU). */
  cpu?: string;
}

/** Starts a Node server on the server CPU and waits until it accepts connections. */
export async function startNodeServer(opts: StartOptions): Promise<ServerProcess> {
  const port = opts.port ?? (await freePort());
  const [command, args] = pinned(opts.cpu ?? pinning.serverCpu, process.execPath, opts.args);
  const child = spawn(command, args, {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  let exitCode: number | null = null;
  const exit = new Promise<number | null>((done) =>
    child.once('exit', (code) => {
      exited = true;
      exitCode = code;
      done(code);
    }),
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${opts.name}: spawn failed`);
  const server: ServerProcess = {
    name: opts.name,
    pid,
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => out,
    alive: () => !exited,
    rssMb: () => rssMb(pid),
    async stop(graceMs = 15_000) {
      if (exited) return exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exit;
      clearTimeout(timer);
      return code;
    },
  };
  try {
    await waitForPort(port, '127.0.0.1', opts.readyTimeoutMs ?? 120_000, server.alive);
  } catch (err) {
    await server.stop(1000);
    throw new Error(`${opts.name} did not start: ${(err as Error).message}\n${out.slice(-4000)}`, { cause: err });
  }
  return server;
}

export function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export interface TnyOptions {
  dataDir: string;
  env?: Record<string, string>;
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=…']. */
  nodeFlags?: string[];
  /** CPU to pin it to (default: the server CPU). */
  cpu?: string;
}

export interface TnyServer extends ServerProcess {
  /** The admin API key printed on first start, if this start created it. */
  adminKey: string | undefined;
}

/**
 * `node dist/main/cli.js serve` on a data dir (run `npm run build` first). BENCH_TNY_CLI points
 * at another build's cli.js, to compare two versions with the same bench.
 */
export async function startTny(opts: TnyOptions): Promise<TnyServer> {
  const server = await startNodeServer({
    name: 'tny',
    ...(opts.cpu !== undefined ? { cpu: opts.cpu } : {}),
    // The heap cap is the one `npm start` uses (package.json), so tny is measured as shipped;
    // extra flags (profiling) come on top of it, never instead of it.
    args: [
      `--max-old-space-size=${process.env.TNY_HEAP_MB ?? 256}`,
      ...(opts.nodeFlags ?? []),
      process.env.BENCH_TNY_CLI ?? join(ROOT, 'dist/main/cli.js'),
      'serve',
    ],
    env: {
      DATA_DIR: opts.dataDir,
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      NODE_ENV: 'production',
      ...opts.env,
    },
  });
  // The key is written before listen(), so it is in the output by now.
  await sleep(50);
  const adminKey = /\b(tny_[A-Za-z0-9]+_[A-Za-z0-9]+)\b/.exec(server.output())?.[1];
  return { ...server, adminKey };
}

/** The bare node:http baseline (bench/baseline-server.js) in the given mode. */
export function startBaseline(mode: 'redirect' | 'create' | 'create-batched', arg: string, name = 'baseline'): Promise<ServerProcess> {
  return startNodeServer({ name, args: [join(ROOT, 'bench/baseline-server.js'), mode, arg] });
}

/** Samples a process's RSS every intervalMs until stopped. */
export function sampleRss(pid: number, intervalMs = 1000): { stop(): number[]; samples: number[] } {
  const samples: number[] = [];
  const take = () => {
    const v = rssMb(pid);
    if (Number.isFinite(v)) samples.push(v);
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    samples,
    stop() {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}

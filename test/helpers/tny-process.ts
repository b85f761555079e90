import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** The built executable (`npm test` builds first; run `npm run build` before running e2e alone). */
export const CLI_JS = join(import.meta.dirname, '../../dist/main/cli.js');

export function assertBuilt(): void {
  if (!existsSync(CLI_JS)) throw new Error(`${CLI_JS} is missing: run \`npm run build\` first`);
}

/** A port nobody listens on right now (BASE_URL needs it before the server starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface TnyProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<Exit>;
  /** Resolves with the exit, or rejects after `ms`. */
  waitExit(ms: number): Promise<Exit>;
}

const running = new Set<ChildProcess>();

/** Kills every process spawned here that still runs (for afterEach/afterAll). */
export async function killAll(): Promise<void> {
  const alive = [...running];
  for (const child of alive) child.kill('SIGKILL');
  await Promise.all(alive.map((child) => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)))));
}

/** Runs `node dist/main/cli.js ...args` with only `env` (plus PATH) in its environment. */
export function spawnTny(args: string[], env: Record<string, string>): TnyProcess {
  const child = spawn(process.execPath, [CLI_JS, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitExit(ms) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`tny ${args.join(' ')} did not exit within ${ms} ms`)), ms);
      });
      return Promise.race([exited, timeout]).finally(() => clearTimeout(timer));
    },
  };
}

export interface TnyServer extends TnyProcess {
  baseUrl: string;
}

/** `tny serve` on a free port; resolves once /health answers. */
export async function startServer(env: Record<string, string>): Promise<TnyServer> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const proc = spawnTny(['serve'], { HOST: '127.0.0.1', PORT: String(port), BASE_URL: baseUrl, ...env });
  let exit: Exit | undefined;
  void proc.exited.then((e) => (exit = e));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exit) throw new Error(`tny serve exited (${exit.code ?? exit.signal}) before answering:\n${proc.stdout()}\n${proc.stderr()}`);
    const up = await fetch(`${baseUrl}/health`).then((r) => r.ok, () => false);
    if (up) return { ...proc, baseUrl };
    if (Date.now() > deadline) throw new Error(`tny serve did not answer /health in time:\n${proc.stdout()}\n${proc.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

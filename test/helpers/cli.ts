import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createRuntime, streamIo, type CliRuntime } from '../../src/cli/runtime.js';
import { buildProgram } from '../../src/main/program.js';
import { ensureAdminKey } from '../../src/platform/auth/manage-keys.js';

/** Collects what is written to it. */
export class TextSink extends Writable {
  text = '';
  constructor(readonly isTTY = false) {
    super({ decodeStrings: false });
  }
  override _write(chunk: string | Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.text += String(chunk);
    done();
  }
}

export interface CliRun {
  out: string;
  err: string;
  /** What the command threw (a CliFailure, TnyError, CommanderError…), if anything. */
  error?: unknown;
}

export interface TestCli {
  dir: string;
  env: Record<string, string>;
  /** Runs `tny <args>` in-process with captured output; never throws. */
  run(...args: string[]): Promise<CliRun>;
  /** A runtime over the same DATA_DIR, for setting up data through the use cases. */
  runtime(): CliRuntime;
  close(): void;
}

/** A fresh DATA_DIR (SQLite) with the admin account made as `tny serve` makes it. */
export async function makeTestCli(env: Record<string, string> = {}): Promise<TestCli & { adminKey: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tny-cli-'));
  const fullEnv = { DATA_DIR: join(dir, 'data'), BASE_URL: 'http://tny.test', LOG_LEVEL: 'silent', ...env };
  const runtime = () => createRuntime(fullEnv, streamIo(new TextSink(), new TextSink()));
  const adminKey = (await runtime().withStores(({ accounts }) => ensureAdminKey(accounts, Date.now())))!;
  return {
    dir,
    env: fullEnv,
    adminKey,
    runtime,
    async run(...args) {
      const stdout = new TextSink();
      const stderr = new TextSink();
      const program = buildProgram(createRuntime(fullEnv, streamIo(stdout, stderr)));
      try {
        await program.parseAsync(args, { from: 'user' });
        return { out: stdout.text, err: stderr.text };
      } catch (error) {
        return { out: stdout.text, err: stderr.text, error };
      }
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

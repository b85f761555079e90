import { mkdirSync } from 'node:fs';
import { KyselyAccountStore } from '../adapters/sql/kysely-account-store.js';
import { openStorage } from '../adapters/sharding/open-storage.js';
import { loadConfig, type Config } from '../config/config.js';
import { createContainer, type Container } from '../main/container.js';
import { roleConfig } from '../main/roles.js';
import { createLogger } from '../main/logger.js';
import type { AccountStore } from '../platform/auth/ports.js';

export class CliFailure extends Error {}

/** Where a command writes: process.stdout/stderr, or anything that collects text (tests). */
export type OutputStream = NodeJS.WritableStream & { isTTY?: boolean };

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  fail: (message: string) => never;
  /** Raw output, for streamed data (exports). */
  stdout: OutputStream;
  /** Raw error output, for progress bars (redrawn only when it is a TTY). */
  stderr: OutputStream;
}

/** Line output and failures over two streams. */
export function streamIo(stdout: OutputStream, stderr: OutputStream): Io {
  return {
    out: (line) => void stdout.write(`${line}\n`),
    err: (line) => void stderr.write(`${line}\n`),
    fail: (message) => {
      throw new CliFailure(message);
    },
    stdout,
    stderr,
  };
}

/** What commands get: config, output, and the stores/use cases they drive. */
export interface CliRuntime {
  config(): Config;
  io: Io;
  withStores<T>(fn: (s: { accounts: AccountStore } & Io) => Promise<T>): Promise<T>;
  withContainer<T>(fn: (c: Container, io: Io) => Promise<T>): Promise<T>;
}

/** `io` defaults to the process's stdout/stderr; tests pass streams that capture. */
export function createRuntime(
  env: Record<string, string | undefined> = process.env,
  io: Io = streamIo(process.stdout, process.stderr),
): CliRuntime {
  let config: Config | undefined;
  const getConfig = () => (config ??= loadConfig(env));
  const prepare = (c: Config) => {
    if (!c.DATABASE_URL && c.DATABASE_SHARDS.length === 0) mkdirSync(c.DATA_DIR, { recursive: true });
  };
  return {
    config: getConfig,
    io,
    async withStores(fn) {
      const c = getConfig();
      prepare(c);
      // With DATABASE_SHARDS: every shard migrated, accounts on the home shard s0 (as in serve).
      const db = await openStorage(c, { databaseUrl: c.DATABASE_URL, dataDir: c.DATA_DIR, poolSize: 2 });
      try {
        return await fn({ accounts: new KyselyAccountStore(db.db), ...io });
      } finally {
        await db.close();
      }
    },
    async withContainer(fn) {
      const c = getConfig();
      prepare(c);
      // A CLI command serves nothing and delivers nothing: the api role's wiring (no delivery workers).
      const container = await createContainer(roleConfig(c, 'api'), createLogger(c.LOG_LEVEL === 'info' ? 'warn' : c.LOG_LEVEL));
      try {
        return await fn(container, io);
      } finally {
        await container.lifecycle.close();
      }
    },
  };
}

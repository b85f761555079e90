#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { migrateCommand } from '../cli/migrate.js';
import { keysCommand } from '../cli/keys.js';
import { CliFailure, createRuntime } from '../cli/runtime.js';
import { ConfigError } from '../config/fields.js';
import { isTnyError } from '../platform/errors.js';
import { serve } from './serve.js';

/** `tny`: one command per use case, over the same use cases as the HTTP API. */
export function buildProgram(runtime = createRuntime()): Command {
  const program = new Command('tny').description('self-hostable short links (and, later, notifications)').exitOverride();
  program
    .command('serve')
    .description('serve the HTTP API and redirects (all roles in one process)')
    .option('--role <role>', 'which roles to run (only "all" for now)', 'all')
    .action(async (opts: { role: string }) => {
      if (opts.role !== 'all') runtime.io.fail(`unknown role "${opts.role}" (this version runs only "all")`);
      await serve(runtime.config());
    });
  migrateCommand(program, runtime);
  keysCommand(program, runtime);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    const known = err instanceof CliFailure || err instanceof ConfigError || isTnyError(err);
    process.stderr.write(`tny: ${known ? (err as Error).message : String((err as Error)?.stack ?? err)}\n`);
    process.exit(known ? 2 : 1);
  }
}

await main();

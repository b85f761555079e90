#!/usr/bin/env node
import { CommanderError } from 'commander';
import { CliFailure } from '../cli/runtime.js';
import { ConfigError } from '../config/fields.js';
import { isTnyError } from '../platform/errors.js';
import { buildProgram } from './program.js';

/**
 * The `tny` executable (the program itself is in program.ts, importable without running it).
 * Exit status: 0 ok, 2 bad input/arguments/config, 1 anything else. */
async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    // Help and --version exit 0; usage errors (already printed by commander) are bad arguments.
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    const known = err instanceof CliFailure || err instanceof ConfigError || isTnyError(err);
    process.stderr.write(`tny: ${known ? (err as Error).message : String((err as Error)?.stack ?? err)}\n`);
    process.exit(known ? 2 : 1);
  }
}

await main();

import type { Command } from 'commander';
import type { CliRuntime } from './runtime.js';

/** `tny migrate`: bring the database schema up to date (serve also does this on start). */
export function migrateCommand(program: Command, runtime: CliRuntime): void {
  program
    .command('migrate')
    .description('apply pending database migrations')
    .action(async () => {
      // Opening the database applies every pending migration.
      await runtime.withStores(async ({ out }) => out('database schema is up to date'));
    });
}

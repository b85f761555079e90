import { Command } from 'commander';
import { accountsCommand } from '../cli/accounts.js';
import { keysCommand } from '../cli/keys.js';
import { linksCommand } from '../cli/links.js';
import { migrateCommand } from '../cli/migrate.js';
import { shardsCommand } from '../cli/shards.js';
import { createRuntime } from '../cli/runtime.js';
import { sagasCommand } from '../cli/sagas.js';
import { parseRole } from './roles.js';
import { serve } from './serve.js';

/**
 * `tny`: one command per use case, over the same use cases as the HTTP API. Commander's own
 * output (help, usage errors) goes to the runtime's streams, so tests can run it in-process.
 */
export function buildProgram(runtime = createRuntime()): Command {
  const program = new Command('tny')
    .description('self-hostable short links (and, later, notifications)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void runtime.io.stdout.write(text),
      writeErr: (text) => void runtime.io.stderr.write(text),
    });
  program
    .command('serve')
    .description('serve the HTTP API and redirects, deliver notifications, or both (--role)')
    .option('--role <role>', 'api (API and redirects), worker (deliveries and background jobs; health and metrics only) or all (default: TNY_ROLE, all)')
    .action(async (opts: { role?: string }) => {
      const config = runtime.config();
      await serve(config, opts.role === undefined ? config.TNY_ROLE : parseRole(opts.role));
    });
  migrateCommand(program, runtime);
  keysCommand(program, runtime);
  linksCommand(program, runtime);
  shardsCommand(program, runtime);
  accountsCommand(program, runtime);
  sagasCommand(program, runtime);
  return program;
}

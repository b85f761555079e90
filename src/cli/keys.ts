import type { Command } from 'commander';
import { createKey } from '../platform/auth/manage-keys.js';
import { TnyError } from '../platform/errors.js';
import type { CliRuntime } from './runtime.js';

/** `tny keys create|list|revoke`: the same account store the API authenticates against. */
export function keysCommand(program: Command, runtime: CliRuntime): void {
  const keys = program.command('keys').description('manage API keys');

  keys
    .command('create')
    .description('create an API key (in a new account unless --account names an existing one)')
    .requiredOption('--name <name>', 'a name for the key (and for the new account)')
    .option('--account <name>', 'add the key to this existing account')
    .option('--admin', 'make the new account an admin (sees every account\'s links)', false)
    .action(async (opts: { name: string; account?: string; admin: boolean }) =>
      runtime.withStores(async ({ accounts, out }) => {
        const made = await createKey(accounts, { name: opts.name, accountName: opts.account, admin: opts.admin }, Date.now());
        out(`created key ${made.key.id} "${made.key.name}" in account "${made.account.name}"${made.account.isAdmin ? ' (admin)' : ''}`);
        out('the key (shown only now):');
        out(`  ${made.token}`);
      }),
    );

  keys
    .command('list')
    .description('list API keys (never the keys themselves)')
    .option('--json', 'print JSON', false)
    .action(async (opts: { json: boolean }) =>
      runtime.withStores(async ({ accounts, out }) => {
        const rows = (await accounts.listKeys()).map(({ key, account }) => ({
          id: key.id,
          name: key.name,
          account: account.name,
          admin: account.isAdmin,
          created_at: new Date(key.createdAt).toISOString(),
          revoked_at: key.revokedAt === null ? null : new Date(key.revokedAt).toISOString(),
        }));
        if (opts.json) return out(JSON.stringify(rows, null, 2));
        if (rows.length === 0) return out('no keys');
        for (const r of rows) {
          out(`${r.id}  ${r.name}  account=${r.account}${r.admin ? ' (admin)' : ''}  created=${r.created_at}${r.revoked_at ? `  REVOKED ${r.revoked_at}` : ''}`);
        }
      }),
    );

  keys
    .command('revoke <id>')
    .description('revoke an API key by id (running servers stop accepting it within AUTH_CACHE_TTL_SECONDS)')
    .action(async (id: string) =>
      runtime.withStores(async ({ accounts, out }) => {
        if (!(await accounts.revokeKey(id, Date.now()))) {
          throw new TnyError('API_KEY_NOT_FOUND', { message: `no active key has the id ${id}` });
        }
        out(`revoked ${id}`);
      }),
    );
}

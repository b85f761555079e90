import type { Command } from 'commander';
import { DELETE_ACCOUNT_SAGA, startAccountDeletion } from '../shortener/use-cases/delete-account.js';
import type { CliRuntime } from './runtime.js';
import { describeRun, driveOrExplain } from './sagas.js';

/** `tny accounts delete`: the same use case as DELETE /api/v1/accounts/{id}, waited for. */
export function accountsCommand(program: Command, runtime: CliRuntime): void {
  const accounts = program.command('accounts').description('manage accounts');

  accounts
    .command('delete <account>')
    .description('delete an account (by name, or by id with --id) with its keys, links and notifier data')
    .option('--id', 'the argument is the account id, not its name', false)
    .addHelpText(
      'after',
      `
Runs as a saga (docs/patterns/saga.md): revoke the account's keys, wait out the auth cache,
delete its links shard by shard, its notifier data, its idempotency keys, then the account.
Until the links are being deleted a failure restores the keys; after that the deletion is
retried until it is done. If the process dies, run the command again (or \`tny sagas resume\`,
or restart \`tny serve\`): it continues where it stopped. Admin accounts are not deleted.`,
    )
    .action(async (account: string, opts: { id: boolean }) =>
      runtime.withContainer(async (c, io) => {
        const target = opts.id ? { id: Number(account) } : { name: account };
        if ('id' in target && !Number.isSafeInteger(target.id)) io.fail(`--id: "${account}" is not an account id`);
        const cli = { accountId: 0, isAdmin: true, keyId: 'cli' };
        const deps = {
          findAccountById: (id: number) => c.accounts.findAccountById(id),
          findAccountByName: (name: string) => c.accounts.findAccountByName(name),
          sagas: c.sagas.runner,
          clock: c.shortener.clock,
          unavailable: () => c.sagas.partitions.unavailable?.(),
        };
        const { run: started, created } = await startAccountDeletion(deps, cli, target);
        if (started.state === 'done') return io.out(`account ${account} was deleted already (run ${started.id})`);
        io.out(`${created ? 'deleting' : 'continuing to delete'} account ${account} (run ${started.id})`);
        const run = (await driveOrExplain(io, () => c.sagas.runner.resumeRun(started.id)))!;
        for (const line of describeRun(run, c.sagas.runner.stepNames(DELETE_ACCOUNT_SAGA))) io.out(line);
        if (run.state !== 'done') io.fail(`deleting account ${account} failed: ${run.error ?? 'unknown error'}`);
      }),
    );
}

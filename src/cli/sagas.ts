import type { Command } from 'commander';
import { TnyError } from '../platform/errors.js';
import { CompensationStuckError, StepStuckError } from '../platform/saga/runner.js';
import type { SagaRun } from '../platform/saga/types.js';
import type { CliRuntime, Io } from './runtime.js';

/** Drives a run; a run still stuck is a clear one-line failure (it stays unfinished), not a stack. */
export async function driveOrExplain(io: Io, drive: () => Promise<SagaRun | undefined>): Promise<SagaRun | undefined> {
  try {
    return await drive();
  } catch (err) {
    if (err instanceof StepStuckError || err instanceof CompensationStuckError) {
      return io.fail(`${err.message}: ${err.cause instanceof Error ? err.cause.message : String(err.cause)}`);
    }
    throw err;
  }
}

/** A run as lines: id, saga, state (and why), then one line per step. */
export function describeRun(run: SagaRun, stepNames: readonly string[]): string[] {
  const lines = [`${run.id}  ${run.name}  ${run.state}${run.error ? `  (${run.error})` : ''}  updated ${new Date(run.updatedAt).toISOString()}`];
  run.steps.forEach((s, i) => lines.push(`  ${String(i).padStart(2)} ${stepNames[i] ?? `step ${i}`}: ${s.status}`));
  return lines;
}

/** `tny sagas list|show|resume`: the durable step log of imports and account deletions. */
export function sagasCommand(program: Command, runtime: CliRuntime): void {
  const sagas = program.command('sagas').description('show and resume saga runs (imports, account deletions)');

  sagas
    .command('list')
    .description('list unfinished runs (running or compensating), oldest first')
    .action(async () =>
      runtime.withContainer(async (c, io) => {
        const runs = await c.sagas.runner.unfinished();
        if (runs.length === 0) return io.out('no unfinished saga runs');
        for (const run of runs) io.out(describeRun(run, c.sagas.runner.stepNames(run.name))[0]!);
      }),
    );

  sagas
    .command('show <id>')
    .description('show one run and its steps')
    .action(async (id: string) =>
      runtime.withContainer(async (c, io) => {
        const run = await c.sagas.runner.get(id);
        if (!run) throw new TnyError('SAGA_RUN_NOT_FOUND', { message: `no saga run has the id ${id}` });
        for (const line of describeRun(run, c.sagas.runner.stepNames(run.name))) io.out(line);
      }),
    );

  sagas
    .command('resume [id]')
    .description('continue one run, or every unfinished run (what `tny serve` does when it starts)')
    .action(async (id: string | undefined) =>
      runtime.withContainer(async (c, io) => {
        const runner = c.sagas.runner;
        if (id !== undefined) {
          if (!(await runner.get(id))) throw new TnyError('SAGA_RUN_NOT_FOUND', { message: `no saga run has the id ${id}` });
          const run = (await driveOrExplain(io, () => runner.resumeRun(id)))!;
          for (const line of describeRun(run, runner.stepNames(run.name))) io.out(line);
          return;
        }
        const finished = await runner.resume();
        for (const run of finished) io.out(describeRun(run, runner.stepNames(run.name))[0]!);
        const left = await runner.unfinished();
        io.out(`resumed ${finished.length} run${finished.length === 1 ? '' : 's'}; ${left.length} still unfinished`);
      }),
    );
}

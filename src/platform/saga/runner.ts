import type { Clock } from '../clock.js';
import { noFaults, type Faults } from '../faults.js';
import type { JsonValue } from '../queue/types.js';
import { exponentialBackoff, type Backoff } from '../resilience/backoff.js';
import { isPermanent, retryAfterOf } from '../resilience/errors.js';
import type { SagaDefinition, SagaLog, SagaRun, StepContext } from './types.js';

export interface SagaRunnerOptions {
  log: SagaLog;
  clock: Clock;
  /** Tries per step before the saga compensates (errors marked permanent: at once). Default 5. */
  stepAttempts?: number;
  /** Tries per compensation before the run is left `compensating` for the next resume. Default 5. */
  compensateAttempts?: number;
  backoff?: Backoff;
  sleep?: (ms: number) => Promise<void>;
  onEvent?: (event: { runId: string; saga: string; step?: string; event: string; error?: unknown }) => void;
  /** Crash-test kill points around every step and compensation (src/platform/faults.ts). */
  faults?: Faults;
}

/** A forward-only step kept failing: the run stays `running` and `resume()` tries again. */
export class StepStuckError extends Error {
  constructor(
    readonly runId: string,
    readonly step: string,
    options: { cause: unknown },
  ) {
    super(`saga run ${runId}: step ${step} keeps failing after the point of no return; the run stays running and is resumed later`, options);
    this.name = 'StepStuckError';
  }
}

/** A compensation kept failing: the run stays `compensating` and `resume()` tries again. */
export class CompensationStuckError extends Error {
  constructor(
    readonly runId: string,
    readonly step: string,
    options: { cause: unknown },
  ) {
    super(`saga run ${runId}: compensating step ${step} keeps failing; the run stays compensating`, options);
    this.name = 'CompensationStuckError';
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * Runs sagas over a durable step log (chapter §7.2, without the sketch's in-memory list that a
 * crash forgets): each step's completion and each compensation is written before the next
 * begins, so `resume()` after a crash continues forward from the first step not done, or keeps
 * compensating from where it stopped. Steps are retried (backoff; errors marked permanent are
 * not); a step that fails for good turns the run to compensating, which undoes every started
 * step in reverse order — the failed one too, with a null output, since it may have done part of
 * its work.
 */
export class SagaRunner {
  private readonly definitions = new Map<string, SagaDefinition<never>>();
  private readonly backoff: Backoff;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: SagaRunnerOptions) {
    this.backoff = options.backoff ?? exponentialBackoff({ baseMs: 50, capMs: 5000 });
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  define<I extends JsonValue>(definition: SagaDefinition<I>): void {
    if (this.definitions.has(definition.name)) throw new Error(`saga ${definition.name} is defined twice`);
    if (definition.steps.length === 0) throw new Error(`saga ${definition.name} has no steps`);
    this.definitions.set(definition.name, definition as unknown as SagaDefinition<never>);
  }

  /**
   * Starts run `id` of saga `name` (or continues it: the id is the work's idempotency key; the
   * same id with another saga is an error) and drives it to `done` or `failed`.
   */
  async run<I extends JsonValue>(name: string, id: string, input: I): Promise<SagaRun> {
    return this.drive(await this.start(name, id, input));
  }

  /**
   * Records run `id` (first writer wins) without driving it, e.g. to answer 202 with its id
   * and drive it in the background (`resumeRun`). Returns the run as the log has it.
   */
  async start<I extends JsonValue>(name: string, id: string, input: I): Promise<SagaRun> {
    const definition = this.definition(name);
    await this.options.log.start({ id, name, input, steps: definition.steps.length, now: this.options.clock.now() });
    const run = await this.options.log.get(id);
    if (!run) throw new Error(`saga run ${id} was started but cannot be read back`);
    if (run.name !== name) throw new Error(`saga run ${id} belongs to saga ${run.name}, not ${name}`);
    return run;
  }

  /** The step names of a defined saga, in order (for showing a run). */
  stepNames(name: string): string[] {
    return this.definitions.get(name)?.steps.map((s) => s.name) ?? [];
  }

  /**
   * Continues every unfinished run (call at start-up). Returns the runs it drove to an end; a
   * run that gets stuck again (a compensation or forward-only step still failing) stays
   * unfinished, is reported through `onEvent` and does not stop the others. A run of a saga
   * this process does not define is left for a process that does.
   */
  async resume(limit = 1000): Promise<SagaRun[]> {
    const out: SagaRun[] = [];
    for (const run of await this.options.log.unfinished(limit)) {
      if (!this.definitions.has(run.name)) continue;
      try {
        out.push(await this.drive(run));
      } catch (error) {
        if (!(error instanceof CompensationStuckError || error instanceof StepStuckError)) throw error;
        this.emit(run, error.step, 'still stuck', error);
      }
    }
    return out;
  }

  /** Continues one run by id (done and failed runs are returned as they are). */
  async resumeRun(id: string): Promise<SagaRun | undefined> {
    const run = await this.options.log.get(id);
    return run && this.drive(run);
  }

  /** The run as the log has it. */
  get(id: string): Promise<SagaRun | undefined> {
    return this.options.log.get(id);
  }

  /** Runs still running or compensating, oldest first. */
  unfinished(limit = 1000): Promise<SagaRun[]> {
    return this.options.log.unfinished(limit);
  }

  /** Whether a saga of this name is defined here. */
  defines(name: string): boolean {
    return this.definitions.has(name);
  }

  private definition(name: string): SagaDefinition<JsonValue> {
    const d = this.definitions.get(name);
    if (!d) throw new Error(`no saga is defined with the name ${name}`);
    return d as unknown as SagaDefinition<JsonValue>;
  }

  private async drive(run: SagaRun): Promise<SagaRun> {
    const definition = this.definition(run.name);
    const { log, clock } = this.options;
    const outputs = run.steps.map((s) => s.output);
    const faults = this.options.faults ?? noFaults;
    const noReturn = definition.steps.findIndex((s) => s.forwardOnly === true);
    if (run.state === 'running') {
      for (let i = 0; i < definition.steps.length; i++) {
        if (run.steps[i]?.status === 'done') continue;
        const step = definition.steps[i]!;
        const ctx: StepContext = { runId: run.id, index: i, outputs: outputs.slice(0, i) };
        let value: JsonValue | null;
        faults.hit(`saga:${run.name}:${step.name}:before`);
        try {
          const output = await this.attempt(this.options.stepAttempts ?? 5, () => step.run(run.input, ctx));
          value = output === undefined ? null : output;
        } catch (error) {
          this.emit(run, step.name, 'step failed', error);
          if (noReturn !== -1 && i >= noReturn) {
            // Past the point of no return: record why, stay running, let resume() retry.
            await log.setState(run.id, 'running', `${step.name}: ${describe(error)}`, clock.now());
            throw new StepStuckError(run.id, step.name, { cause: error });
          }
          await log.setState(run.id, 'compensating', `${step.name}: ${describe(error)}`, clock.now(), i);
          return this.compensate(run.id, definition, i);
        }
        faults.hit(`saga:${run.name}:${step.name}:after`);
        // Outside the try: the log failing is not the step failing. It propagates, the run stays
        // `running`, and resume() runs this step again (which is why steps are idempotent).
        await log.stepDone(run.id, i, value, clock.now());
        outputs[i] = value;
        this.emit(run, step.name, 'step done');
      }
      await log.setState(run.id, 'done', null, clock.now());
      this.emit(run, undefined, 'done');
    } else if (run.state === 'compensating') {
      return this.compensate(run.id, definition, run.failedStep ?? definition.steps.length - 1);
    }
    return (await log.get(run.id)) as SagaRun;
  }

  /** Undoes steps `upto` … 0 that are not compensated yet, then marks the run failed. */
  private async compensate(runId: string, definition: SagaDefinition<JsonValue>, upto: number): Promise<SagaRun> {
    const { log, clock } = this.options;
    const run = (await log.get(runId)) as SagaRun;
    const outputs = run.steps.map((s) => s.output);
    for (let i = Math.min(upto, definition.steps.length - 1); i >= 0; i--) {
      const status = run.steps[i]?.status;
      if (status === 'compensated') continue;
      const step = definition.steps[i]!;
      if (step.compensate) {
        const output = status === 'done' ? (outputs[i] ?? null) : null;
        const ctx: StepContext = { runId, index: i, outputs: outputs.slice(0, i) };
        const faults = this.options.faults ?? noFaults;
        faults.hit(`saga:${run.name}:compensate:${step.name}:before`);
        try {
          await this.attempt(this.options.compensateAttempts ?? 5, () => step.compensate!(run.input, output, ctx), true);
        } catch (error) {
          this.emit(run, step.name, 'compensation stuck', error);
          throw new CompensationStuckError(runId, step.name, { cause: error });
        }
        faults.hit(`saga:${run.name}:compensate:${step.name}:after`);
      }
      await log.stepCompensated(runId, i, clock.now());
      this.emit(run, step.name, 'step compensated');
    }
    await log.setState(runId, 'failed', run.error, clock.now());
    this.emit(run, undefined, 'failed');
    return (await log.get(runId)) as SagaRun;
  }

  private async attempt<T>(tries: number, fn: () => Promise<T>, retryPermanent = false): Promise<T> {
    let previous = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (attempt >= tries || (!retryPermanent && isPermanent(error))) throw error;
        previous = retryAfterOf(error) ?? this.backoff.delay(attempt, previous);
        await this.sleep(previous);
      }
    }
  }

  private emit(run: SagaRun, step: string | undefined, event: string, error?: unknown): void {
    this.options.onEvent?.({ runId: run.id, saga: run.name, ...(step ? { step } : {}), event, ...(error !== undefined ? { error } : {}) });
  }
}

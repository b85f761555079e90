import type { JsonValue } from '../queue/types.js';

/** What a step sees: its run, its place, and the outputs of the steps before it. */
export interface StepContext {
  runId: string;
  index: number;
  /** Outputs of the steps done so far (null for a step without one). */
  outputs: readonly (JsonValue | null)[];
}

/**
 * One step of a saga (chapter §7.2). Both functions must be idempotent for (runId, index):
 * the log records a step after its effect, so a crash in between runs it again on resume, and a
 * compensation interrupted the same way is run again too.
 */
export interface SagaStep<I extends JsonValue> {
  name: string;
  run(input: I, ctx: StepContext): Promise<JsonValue | void>;
  /**
   * Undoes the step. `output` is null when the step never recorded one: it failed, or the
   * process died before its record, so it may have done part, all or none of its work.
   */
  compensate?(input: I, output: JsonValue | null, ctx: StepContext): Promise<void>;
  /**
   * The point of no return: from the first forward-only step on, a failure never compensates
   * (what is done cannot be undone, e.g. deleted rows); the run stays `running` with the error
   * recorded and `resume()` tries again until it is done (StepStuckError).
   */
  forwardOnly?: boolean;
}

export interface SagaDefinition<I extends JsonValue = JsonValue> {
  name: string;
  steps: readonly SagaStep<I>[];
}

/**
 * A run's state machine:
 *   running ──all steps done──▶ done
 *      └──a step failed for good──▶ compensating ──every started step undone──▶ failed
 */
export type SagaState = 'running' | 'compensating' | 'done' | 'failed';
export type StepStatus = 'pending' | 'done' | 'compensated';

export interface SagaRun {
  id: string;
  name: string;
  input: JsonValue;
  state: SagaState;
  /** Why it is compensating / failed. */
  error: string | null;
  /** The step whose failure started the compensation (compensated first, with a null output). */
  failedStep: number | null;
  /** One entry per step of the definition, in order. */
  steps: { status: StepStatus; output: JsonValue | null }[];
  createdAt: number;
  updatedAt: number;
}

/**
 * The durable step log. Every write is a single-row upsert that is safe to repeat, and
 * `start` is first-writer-wins on the run id, so a run id is the idempotency key of the work.
 */
export interface SagaLog {
  start(run: { id: string; name: string; input: JsonValue; steps: number; now: number }): Promise<'created' | 'exists'>;
  get(id: string): Promise<SagaRun | undefined>;
  stepDone(id: string, index: number, output: JsonValue | null, now: number): Promise<void>;
  stepCompensated(id: string, index: number, now: number): Promise<void>;
  /** `failedStep` with `compensating`: the step that failed for good. */
  setState(id: string, state: SagaState, error: string | null, now: number, failedStep?: number): Promise<void>;
  /** Runs still `running` or `compensating`, oldest first. */
  unfinished(limit: number): Promise<SagaRun[]>;
}

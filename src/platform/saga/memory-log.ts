import type { JsonValue } from '../queue/types.js';
import type { SagaLog, SagaRun, SagaState } from './types.js';

/** The step log in memory (tests, and the reference for what a durable log must do). */
export class MemorySagaLog implements SagaLog {
  private readonly runs = new Map<string, SagaRun>();

  start(run: { id: string; name: string; input: JsonValue; steps: number; now: number }): Promise<'created' | 'exists'> {
    if (this.runs.has(run.id)) return Promise.resolve('exists');
    this.runs.set(run.id, {
      id: run.id,
      name: run.name,
      input: structuredClone(run.input),
      state: 'running',
      error: null,
      failedStep: null,
      steps: Array.from({ length: run.steps }, () => ({ status: 'pending' as const, output: null })),
      createdAt: run.now,
      updatedAt: run.now,
    });
    return Promise.resolve('created');
  }

  get(id: string): Promise<SagaRun | undefined> {
    const run = this.runs.get(id);
    return Promise.resolve(run ? structuredClone(run) : undefined);
  }

  stepDone(id: string, index: number, output: JsonValue | null, now: number): Promise<void> {
    const run = this.must(id);
    const step = run.steps[index];
    if (step && step.status === 'pending') {
      step.status = 'done';
      step.output = structuredClone(output);
    }
    run.updatedAt = now;
    return Promise.resolve();
  }

  stepCompensated(id: string, index: number, now: number): Promise<void> {
    const run = this.must(id);
    const step = run.steps[index];
    if (step) step.status = 'compensated';
    run.updatedAt = now;
    return Promise.resolve();
  }

  setState(id: string, state: SagaState, error: string | null, now: number, failedStep?: number): Promise<void> {
    const run = this.must(id);
    run.state = state;
    run.error = error;
    if (failedStep !== undefined) run.failedStep = failedStep;
    run.updatedAt = now;
    return Promise.resolve();
  }

  unfinished(limit: number): Promise<SagaRun[]> {
    const out = [...this.runs.values()].filter((r) => r.state === 'running' || r.state === 'compensating').sort((a, b) => a.createdAt - b.createdAt);
    return Promise.resolve(out.slice(0, limit).map((r) => structuredClone(r)));
  }

  private must(id: string): SagaRun {
    const run = this.runs.get(id);
    if (!run) throw new Error(`no saga run ${id}`);
    return run;
  }
}

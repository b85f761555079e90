import { describe, expect, it } from 'vitest';
import { FakeClock } from '../clock.js';
import type { JsonValue } from '../queue/types.js';
import { PermanentError, RetryableError } from '../resilience/errors.js';
import { MemorySagaLog } from './memory-log.js';
import { CompensationStuckError, SagaRunner, StepStuckError } from './runner.js';
import type { SagaLog, SagaStep } from './types.js';

/** A world the steps change: effects keyed by run and step, so a repeat is visible. */
function world() {
  const effects = new Map<string, number>();
  const calls: string[] = [];
  const step = (name: string, opts: { fail?: () => Error | undefined } = {}): SagaStep<{ n: number }> => ({
    name,
    async run(input, ctx) {
      calls.push(`run ${name}`);
      effects.set(`${ctx.runId}:${name}`, 1); // idempotent: set, not add
      const err = opts.fail?.();
      if (err) throw err;
      return { name, n: input.n, seen: ctx.outputs.length } as JsonValue;
    },
    async compensate(_input, output, ctx) {
      calls.push(`undo ${name} ${output === null ? 'null' : 'output'}`);
      effects.delete(`${ctx.runId}:${name}`);
    },
  });
  return { effects, calls, step };
}

const runner = (log: SagaLog = new MemorySagaLog()) => new SagaRunner({ log, clock: new FakeClock(1000), sleep: async () => {} });

describe('SagaRunner', () => {
  it('runs the steps in order, hands each the outputs before it, and is done; the same id again does nothing', async () => {
    const w = world();
    const r = runner();
    r.define({ name: 'three', steps: [w.step('a'), w.step('b'), w.step('c')] });
    const run = await r.run('three', 'r1', { n: 7 });
    expect(run.state).toBe('done');
    expect(run.steps.map((s) => s.output)).toEqual([
      { name: 'a', n: 7, seen: 0 },
      { name: 'b', n: 7, seen: 1 },
      { name: 'c', n: 7, seen: 2 },
    ]);
    expect(w.calls).toEqual(['run a', 'run b', 'run c']);
    expect((await r.run('three', 'r1', { n: 7 })).state).toBe('done');
    expect(w.calls).toHaveLength(3);
  });

  it('a step that fails for good compensates every started step in reverse, the failed one with a null output', async () => {
    const w = world();
    const r = runner();
    r.define({ name: 'fails', steps: [w.step('a'), w.step('b'), w.step('c', { fail: () => new PermanentError('no') }), w.step('d')] });
    const run = await r.run('fails', 'r2', { n: 1 });
    expect(run.state).toBe('failed');
    expect(run.failedStep).toBe(2);
    expect(run.error).toContain('c: PermanentError: no');
    expect(w.calls).toEqual(['run a', 'run b', 'run c', 'undo c null', 'undo b output', 'undo a output']);
    expect([...w.effects.keys()].filter((k) => k.startsWith('r2:'))).toEqual([]);
    expect(run.steps.map((s) => s.status)).toEqual(['compensated', 'compensated', 'compensated', 'pending']);
  });

  it('retries a step that fails retryably, then goes on', async () => {
    const w = world();
    let failures = 2;
    const r = runner();
    r.define({ name: 'flaky', steps: [w.step('a', { fail: () => (failures-- > 0 ? new RetryableError('busy') : undefined) }), w.step('b')] });
    expect((await r.run('flaky', 'r3', { n: 1 })).state).toBe('done');
    expect(w.calls).toEqual(['run a', 'run a', 'run a', 'run b']);
  });

  it('a crash after the effect of a step and before its record: resume runs it again (idempotent) and finishes', async () => {
    const w = world();
    const log = new MemorySagaLog();
    let crash = true;
    const dying: SagaLog = Object.assign(Object.create(log) as SagaLog, {
      stepDone: async (id: string, index: number, output: JsonValue | null, now: number) => {
        if (index === 1 && crash) throw new Error('process died');
        return log.stepDone(id, index, output, now);
      },
    });
    const first = runner(dying);
    first.define({ name: 's', steps: [w.step('a'), w.step('b'), w.step('c')] });
    // The log write failing is where the process would have died: the run is left running.
    await first.run('s', 'r4', { n: 1 }).catch(() => undefined);
    crash = false;
    const second = runner(log);
    second.define({ name: 's', steps: [w.step('a'), w.step('b'), w.step('c')] });
    const resumed = await second.resume();
    expect(resumed.map((r) => [r.id, r.state])).toEqual([['r4', 'done']]);
    expect(w.calls.filter((c) => c === 'run b')).toHaveLength(2);
    expect(w.calls.filter((c) => c === 'run a')).toHaveLength(1);
    expect([...w.effects.keys()].filter((k) => k.startsWith('r4:')).sort()).toEqual(['r4:a', 'r4:b', 'r4:c']);
  });

  it('a compensation that keeps failing leaves the run compensating; resume finishes it', async () => {
    const w = world();
    const log = new MemorySagaLog();
    let undoWorks = false;
    const stubborn: SagaStep<{ n: number }> = {
      ...w.step('a'),
      async compensate(input, output, ctx) {
        if (!undoWorks) throw new RetryableError('store down');
        await w.step('a').compensate!(input, output, ctx);
      },
    };
    const r = runner(log);
    r.define({ name: 'stuck', steps: [stubborn, w.step('b', { fail: () => new PermanentError('no') })] });
    await expect(r.run('stuck', 'r5', { n: 1 })).rejects.toBeInstanceOf(CompensationStuckError);
    expect((await log.get('r5'))?.state).toBe('compensating');
    undoWorks = true;
    const [done] = await r.resume();
    expect(done?.state).toBe('failed');
    expect(w.effects.has('r5:a')).toBe(false);
    expect(w.calls.filter((c) => c === 'undo b null')).toHaveLength(1); // not undone twice
  });

  it('refuses a run id used by another saga, an unknown saga, and a saga defined twice', async () => {
    const w = world();
    const r = runner();
    r.define({ name: 'x', steps: [w.step('a')] });
    r.define({ name: 'y', steps: [w.step('a')] });
    await r.run('x', 'shared', { n: 1 });
    await expect(r.run('y', 'shared', { n: 1 })).rejects.toThrow(/belongs to saga x/);
    await expect(r.run('z', 'other', { n: 1 })).rejects.toThrow(/no saga/);
    expect(() => r.define({ name: 'x', steps: [w.step('a')] })).toThrow(/twice/);
  });

  it('past the first forward-only step a failure never compensates: the run stays running with the error, and resume finishes it', async () => {
    const w = world();
    const log = new MemorySagaLog();
    let broken = true;
    const r = runner(log);
    r.define({
      name: 'fwd',
      steps: [
        w.step('revoke'),
        { ...w.step('delete'), forwardOnly: true },
        { ...w.step('last', { fail: () => (broken ? new PermanentError('store down') : undefined) }), forwardOnly: true },
      ],
    });
    await expect(r.run('fwd', 'r7', { n: 1 })).rejects.toBeInstanceOf(StepStuckError);
    const stuck = await log.get('r7');
    expect(stuck).toMatchObject({ state: 'running', error: 'last: PermanentError: store down', failedStep: null });
    expect(stuck?.steps.map((s) => s.status)).toEqual(['done', 'done', 'pending']);
    expect(w.calls.filter((c) => c.startsWith('undo'))).toEqual([]);
    // A stuck run does not stop resume() from finishing the others, and is finished once it works.
    r.define({ name: 'ok', steps: [w.step('x')] });
    await log.start({ id: 'r8', name: 'ok', input: { n: 1 }, steps: 1, now: 2000 });
    expect((await r.resume()).map((x) => [x.id, x.state])).toEqual([['r8', 'done']]);
    broken = false;
    expect((await r.resume()).map((x) => [x.id, x.state, x.error])).toEqual([['r7', 'done', null]]);
  });

  it('a failure before the point of no return still compensates', async () => {
    const w = world();
    const r = runner();
    r.define({ name: 'early', steps: [w.step('a'), w.step('check', { fail: () => new PermanentError('busy import') }), { ...w.step('delete'), forwardOnly: true }] });
    const run = await r.run('early', 'r9', { n: 1 });
    expect(run).toMatchObject({ state: 'failed', failedStep: 1 });
    expect(w.calls).toEqual(['run a', 'run check', 'undo check null', 'undo a output']);
  });

  it('hits the fault points before and after each step and each compensation, named after the saga and step', async () => {
    const w = world();
    const hits: string[] = [];
    const r = new SagaRunner({ log: new MemorySagaLog(), clock: new FakeClock(1000), sleep: async () => {}, faults: { hit: (p) => hits.push(p) } });
    r.define({ name: 'f', steps: [w.step('a'), w.step('b', { fail: () => new PermanentError('no') })] });
    await r.run('f', 'r10', { n: 1 });
    expect(hits).toEqual(['saga:f:a:before', 'saga:f:a:after', 'saga:f:b:before', 'saga:f:compensate:b:before', 'saga:f:compensate:b:after', 'saga:f:compensate:a:before', 'saga:f:compensate:a:after']);
    expect(r.stepNames('f')).toEqual(['a', 'b']);
  });

  it('start records a run without driving it; resumeRun drives it', async () => {
    const w = world();
    const r = runner();
    r.define({ name: 's', steps: [w.step('a')] });
    expect((await r.start('s', 'r11', { n: 1 })).state).toBe('running');
    expect(w.calls).toEqual([]);
    expect((await r.resumeRun('r11'))?.state).toBe('done');
    expect(await r.resumeRun('nope')).toBeUndefined();
  });
});

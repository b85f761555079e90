import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KyselySagaLog } from '../../src/adapters/sql/kysely-saga-log.js';
import { migrateToLatest } from '../../src/adapters/sql/migrations.js';
import { openSqlite, type SqliteHandle } from '../../src/adapters/sqlite/open-sqlite.js';

const WORKER = new URL('./saga-worker.ts', import.meta.url).pathname;

/**
 * The saga's durability with real kills: a process running a 4-step saga on a SQLite file is
 * SIGKILLed at a chosen point — right after a step's effect, before the step is recorded (the
 * worst window), or in the middle of compensating — and a new process resumes it. The effects
 * end exactly as one uninterrupted run leaves them; the killed step is the only one run twice.
 */
describe('saga: kill -9 at each step, resume in a new process', () => {
  let dir: string;
  let handle: SqliteHandle;
  const file = () => join(dir, 'saga.db');

  /** Runs the worker; with `killOn`, SIGKILLs it when that line appears. Resolves with its output. */
  const worker = (runId: string, mode: 'ok' | 'fail', killOn?: string) =>
    new Promise<{ out: string; killed: boolean }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', WORKER, file(), runId, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      let killed = false;
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (killOn && !killed && out.split('\n').includes(killOn)) {
          killed = true;
          child.kill('SIGKILL');
        }
      });
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      child.on('exit', (code) => (killed || code === 0 ? resolve({ out, killed }) : reject(new Error(`worker exited ${code}: ${err}`))));
    });
  const effects = (runId: string) => (handle.raw.prepare('SELECT step FROM saga_effects WHERE run_id = ? ORDER BY step').all(runId) as { step: number }[]).map((r) => r.step);
  const calls = (runId: string, what: string) =>
    (handle.raw.prepare('SELECT step FROM saga_calls WHERE run_id = ? AND what = ? ORDER BY id').all(runId, what) as { step: number }[]).map((r) => r.step);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tny-saga-'));
    handle = openSqlite(file());
    await migrateToLatest(handle.db, 'sqlite');
    handle.raw.exec('CREATE TABLE saga_effects (run_id TEXT NOT NULL, step INTEGER NOT NULL, PRIMARY KEY (run_id, step))');
    handle.raw.exec('CREATE TABLE saga_calls (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, step INTEGER NOT NULL, what TEXT NOT NULL)');
  });
  afterAll(async () => {
    await handle.db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const k of [0, 1, 2, 3]) {
    it(`killed after step ${k}'s effect, before its record: the next process finishes it; every effect once`, async () => {
      const runId = `ok-${k}`;
      expect((await worker(runId, 'ok', `effect ${k}`)).killed).toBe(true);
      expect((await new KyselySagaLog(handle.db).get(runId))?.state).toBe('running');
      const second = await worker(runId, 'ok');
      expect(second.out).toContain('finished done');
      expect(effects(runId)).toEqual([0, 1, 2, 3]);
      // Only the step cut off between its effect and its record ran twice.
      expect(calls(runId, 'run')).toEqual([...[0, 1, 2, 3].slice(0, k + 1), ...[0, 1, 2, 3].slice(k)]);
      const run = await new KyselySagaLog(handle.db).get(runId);
      expect(run?.steps.map((s) => s.output)).toEqual([0, 1, 2, 3]);
    }, 30_000);
  }

  for (const j of [2, 0]) {
    it(`a failing saga killed while compensating step ${j}: the next process finishes compensating; no effect left`, async () => {
      const runId = `fail-${j}`;
      expect((await worker(runId, 'fail', `undo ${j}`)).killed).toBe(true);
      expect((await new KyselySagaLog(handle.db).get(runId))?.state).toBe('compensating');
      const second = await worker(runId, 'fail');
      expect(second.out).toContain('finished failed');
      expect(effects(runId)).toEqual([]);
      const run = await new KyselySagaLog(handle.db).get(runId);
      expect(run).toMatchObject({ state: 'failed', failedStep: 2 });
      expect(run?.steps.map((s) => s.status)).toEqual(['compensated', 'compensated', 'compensated', 'pending']);
      // Step 3 never ran; compensations went 2, 1, 0 (the one cut off repeated).
      expect(calls(runId, 'run')).toEqual([0, 1, 2]);
      expect(calls(runId, 'undo')).toEqual(j === 2 ? [2, 2, 1, 0] : [2, 1, 0, 0]);
    }, 30_000);
  }
});

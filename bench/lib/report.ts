import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeMachine, machineLine, type MachineDescription } from './machine.js';
import { pinning, ROOT } from './process.js';
import { loadTool } from './load.js';
import type { Summary } from './rounds.js';
import { fmt, fmtInt } from './stats.js';

export interface Goal {
  name: string;
  /** Human-readable target, e.g. "≥ 0.75". */
  target: string;
  value: number;
  pass: boolean;
}

export function goal(name: string, value: number, op: '>=' | '<', threshold: number, unit = ''): Goal {
  const pass = op === '>=' ? value >= threshold : value < threshold;
  return { name, target: `${op === '>=' ? '≥' : '<'} ${threshold}${unit}`, value, pass };
}

export function goalLine(g: Goal, shown: string): string {
  return `${g.pass ? 'PASS' : 'MISS'}  ${g.name}: ${shown} (goal ${g.target})`;
}

/** A plain text table: first row is the header; numbers should already be formatted. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ');
  const out = [line(rows[0] ?? []), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  return out.join('\n');
}

export interface Environment {
  machine: MachineDescription;
  loadGenerator: string;
  pinning: typeof pinning;
}

export function environment(): Environment {
  return { machine: describeMachine(), loadGenerator: loadTool, pinning };
}

export function environmentLine(env: Environment): string {
  const pin = env.pinning.enabled ? `servers on CPU ${env.pinning.serverCpu}, load on CPU ${env.pinning.loadCpu}` : 'no CPU pinning';
  return `${machineLine(env.machine)}; load: ${env.loadGenerator}; ${pin}`;
}

/**
 * Writes bench/results/<name>-<ISO date>.json and bench/results/<name>-latest.json.
 * Returns the dated file's path.
 */
export function writeResults(name: string, data: Record<string, unknown>): string {
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  const body = JSON.stringify({ benchmark: name, date: new Date().toISOString(), commit: gitCommit(), ...data }, null, 2) + '\n';
  const dated = join(dir, `${name}-${stamp}.json`);
  writeFileSync(dated, body);
  writeFileSync(join(dir, `${name}-latest.json`), body);
  return dated;
}

/** One row per server: medians over the rounds, CPU per request, and each round's req/s. */
export function summaryTable(rows: Summary[], unit = 'req/s'): string {
  return table([
    ['server', `${unit} (median)`, 'p50 ms', 'p99 ms', 'CPU µs/req', 'CPU share', `rounds ${unit}`, 'errors'],
    ...rows.map((x) => [
      x.name,
      fmtInt(x.medianRps),
      fmt(x.p50Ms),
      fmt(x.p99Ms),
      fmt(x.cpuUsPerRequest, 1),
      `${Math.round(x.cpuShare * 100)}%`,
      x.rounds.map((r) => fmtInt(r.rps)).join(' '),
      String(x.errorResponses + x.socketErrors),
    ]),
  ]);
}

/** HEAD's short hash, with "+dirty" when src/ has uncommitted changes. */
function gitCommit(): string | undefined {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (head.status !== 0) return undefined;
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? '+dirty' : ''}`;
}

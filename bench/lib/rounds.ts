import { cpuTimeMs } from './cpu.js';
import type { LoadResult } from './load.js';
import { median } from './stats.js';

export interface Target {
  name: string;
  run(round: number): Promise<LoadResult>;
  /** The server's pid: its CPU time per request and CPU share are recorded. */
  pid?: number;
}

export interface RoundResult extends LoadResult {
  /** Server CPU (user + system) per completed request, µs. */
  serverCpuUsPerRequest: number;
  /** Share of one core the server used during the run (≈1 when it is the bottleneck). */
  serverCpuShare: number;
}

/** Runs a load and records the server's CPU time around it. */
export async function measured(run: () => Promise<LoadResult>, pid: number | undefined): Promise<RoundResult> {
  const before = pid === undefined ? Number.NaN : cpuTimeMs(pid);
  const res = await run();
  const used = pid === undefined ? Number.NaN : cpuTimeMs(pid) - before;
  return { ...res, serverCpuUsPerRequest: (used * 1000) / Math.max(1, res.requests), serverCpuShare: used / (res.durationS * 1000) };
}

export interface Summary {
  name: string;
  rounds: RoundResult[];
  medianRps: number;
  /** Medians over the rounds of the server's CPU per request (µs) and CPU share. */
  cpuUsPerRequest: number;
  cpuShare: number;
  /** Medians over the rounds of each round's percentile. */
  p50Ms: number;
  p99Ms: number;
  requests: number;
  socketErrors: number;
  errorResponses: number;
}

/**
 * Runs every target once per round, one at a time, alternating which goes first
 * (A B, B A, A B, …) so slow drift of the machine affects both alike.
 */
export async function alternatingRounds(targets: Target[], rounds: number, log: (s: string) => void = () => {}): Promise<Summary[]> {
  const results = new Map<string, RoundResult[]>(targets.map((t) => [t.name, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? targets : [...targets].reverse();
    for (const t of order) {
      const res = await measured(() => t.run(r), t.pid);
      results.get(t.name)?.push(res);
      log(`  round ${r + 1}/${rounds} ${t.name.padEnd(9)} ${Math.round(res.rps).toLocaleString('en-US').padStart(8)} req/s  p50 ${res.latencyMs.p50.toFixed(2)} ms  p99 ${res.latencyMs.p99.toFixed(2)} ms  cpu ${res.serverCpuUsPerRequest.toFixed(1)} µs/req, ${Math.round(res.serverCpuShare * 100)}% of a core${res.errorResponses || res.socketErrors ? `  errors ${res.errorResponses}/${res.socketErrors}` : ''}`);
    }
  }
  return targets.map((t) => summarize(t.name, results.get(t.name) ?? []));
}

export function summarize(name: string, rounds: RoundResult[]): Summary {
  return {
    name,
    rounds,
    medianRps: median(rounds.map((r) => r.rps)),
    cpuUsPerRequest: median(rounds.map((r) => r.serverCpuUsPerRequest)),
    cpuShare: median(rounds.map((r) => r.serverCpuShare)),
    p50Ms: median(rounds.map((r) => r.latencyMs.p50)),
    p99Ms: median(rounds.map((r) => r.latencyMs.p99)),
    requests: rounds.reduce((s, r) => s + r.requests, 0),
    socketErrors: rounds.reduce((s, r) => s + r.socketErrors, 0),
    errorResponses: rounds.reduce((s, r) => s + r.errorResponses, 0),
  };
}

/**
 * Fault injection for crash tests (test-only; TNY_FAULT_KILL). Code that must survive a crash
 * names the points where one would hurt most — `faults.hit('saga:import-links:insert s1:after')`
 * — and a test starts the real process with that point listed, so the process SIGKILLs itself
 * there: no `finally`, no shutdown hook, no flush, exactly like `kill -9` or a power cut.
 *
 * Points are plain strings `<area>:<what>:…`; the saga runner's are
 * `saga:<saga>:<step>:<before|after>` (after = the step's effect is committed, its record in the
 * step log is not) and `saga:<saga>:compensate:<step>:<before|after>`. Later fault kinds (delay,
 * throw, drop a connection) can be added as more lists next to `kill` without touching callers.
 */
export interface Faults {
  /** Called at a named point; returns normally unless a fault is configured there. */
  hit(point: string): void;
}

/** No faults (production). */
export const noFaults: Faults = { hit() {} };

/** Kills the process at each listed point (the first hit of it). */
export function killFaults(points: readonly string[], die: () => void = killSelf): Faults {
  if (points.length === 0) return noFaults;
  const kill = new Set(points);
  return {
    hit(point) {
      if (kill.has(point)) die();
    },
  };
}

/** SIGKILL to this process, and block until it lands so not one more line of JS runs. */
function killSelf(): never {
  process.kill(process.pid, 'SIGKILL');
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(cell, 0, 0, 1000);
}

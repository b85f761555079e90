import { readFileSync } from 'node:fs';
import { sleep } from './net.js';

/** Clock ticks per second of /proc times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * User + system CPU time of a process in ms (/proc/<pid>/stat utime + stime), NaN when
 * unavailable. CPU per request is a cross-check that noise from other processes does not
 * distort much: being descheduled lowers req/s but not the CPU each request costs.
 */
export function cpuTimeMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ", field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

function cpuTotals(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((s, x) => s + x, 0);
  return { busy: total - idle, total };
}

/** Fraction (0..1) of all CPUs busy during the next `ms` milliseconds. */
export async function machineBusy(ms = 1000): Promise<number> {
  const a = cpuTotals();
  await sleep(ms);
  const b = cpuTotals();
  return b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0;
}

/**
 * Waits (up to maxS seconds) until other processes leave the CPUs mostly idle, so the
 * benchmark does not start in the middle of someone's test run. Returns the last busy share.
 */
export async function waitForQuiet(maxS = Number(process.env.BENCH_WAIT_QUIET_SECONDS ?? 60), threshold = 0.1, log: (s: string) => void = () => {}): Promise<number> {
  const deadline = Date.now() + maxS * 1000;
  let busy = await machineBusy();
  let told = false;
  while (busy > threshold && Date.now() < deadline) {
    if (!told) log(`machine busy (${Math.round(busy * 100)}% CPU used by other processes); waiting up to ${maxS} s for it to calm down …`);
    told = true;
    busy = await machineBusy(2000);
  }
  if (busy > threshold) log(`warning: still ${Math.round(busy * 100)}% busy; results will be noisy`);
  return busy;
}

import { mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * With BENCH_PROFILE=1, node flags that make tny write a .cpuprofile (when it exits) into
 * $BENCH_PROFILE_DIR or the temp directory, under <name>-<time>/.
 */
export function profileFlags(name: string): { flags: string[]; dir: string | undefined } {
  if (process.env.BENCH_PROFILE !== '1') return { flags: [], dir: undefined };
  const dir = join(process.env.BENCH_PROFILE_DIR ?? join(tmpdir(), 'tny-bench-profiles'), `${name}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  return { flags: ['--cpu-prof', `--cpu-prof-dir=${dir}`], dir };
}

export function profilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f));
}

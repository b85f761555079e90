/**
 * Exponential backoff with jitter (chapter §9.2), as in AWS's "Exponential Backoff and
 * Jitter": without jitter, clients that failed together retry together.
 *
 * For retry n (1 = the first retry) the exponential ceiling is
 * `v = min(capMs, baseMs × factor^(n-1))`, then:
 * - `full`: U(0, v) — the AWS SDK's choice; the least total work in AWS's simulation.
 * - `equal`: v/2 + U(0, v/2) — never shorter than half the ceiling.
 * - `decorrelated`: U(baseMs, 3 × previous), previous starting at baseMs; grows from the last
 *   delay rather than from n (cockatiel's and Polly's default family).
 * - `none`: v (for tests and for callers that jitter elsewhere).
 *
 * The cap is applied AFTER jitter: every delay is ≤ capMs whatever the jitter (defect 6 in
 * DESIGN.md: the chapter's `min(…) × (0.5 + random)` reaches 1.5 × cap). Clamping the ceiling
 * before jittering as well keeps full jitter uniform over [0, cap] once the ceiling is
 * reached, instead of piling every delay onto the cap.
 *
 * Delays are whole milliseconds. The backoff holds no state, so one instance serves any
 * number of concurrent executions.
 */

export type Jitter = 'full' | 'equal' | 'decorrelated' | 'none';

export interface Backoff {
  /** The delay before retry `retry` (1-based); `previousMs` is the last delay (0 at first). */
  delay(retry: number, previousMs: number): number;
}

export interface ExponentialBackoffOptions {
  jitter?: Jitter;
  /** Default 100 ms. */
  baseMs?: number;
  /** Default 10,000 ms. */
  capMs?: number;
  /** Default 2. */
  factor?: number;
  /** Uniform in [0, 1); default Math.random. Inject a fixed source to test exact schedules. */
  random?: () => number;
}

export function exponentialBackoff(options: ExponentialBackoffOptions = {}): Backoff {
  const { jitter = 'full', baseMs = 100, capMs = 10_000, factor = 2, random = Math.random } = options;
  if (!(baseMs > 0) || !Number.isFinite(baseMs)) throw new RangeError(`baseMs must be finite and > 0, got ${baseMs}`);
  if (!(capMs >= baseMs) || !Number.isFinite(capMs)) throw new RangeError(`capMs must be finite and ≥ baseMs, got ${capMs}`);
  if (!(factor >= 1) || !Number.isFinite(factor)) throw new RangeError(`factor must be finite and ≥ 1, got ${factor}`);

  const ceiling = (retry: number): number => Math.min(capMs, baseMs * factor ** Math.max(0, retry - 1));
  const capped = (ms: number): number => Math.min(capMs, Math.max(0, Math.round(ms)));

  switch (jitter) {
    case 'full':
      return { delay: (retry) => capped(random() * ceiling(retry)) };
    case 'equal':
      return {
        delay(retry) {
          const v = ceiling(retry);
          return capped(v / 2 + random() * (v / 2));
        },
      };
    case 'decorrelated':
      return {
        delay(_retry, previousMs) {
          const upper = Math.max(baseMs, previousMs) * 3;
          return capped(baseMs + random() * (upper - baseMs));
        },
      };
    case 'none':
      return { delay: (retry) => capped(ceiling(retry)) };
  }
}

import type { Clock } from '../clock.js';

export type OutageEvent =
  | { state: 'down'; error: unknown }
  | { state: 'up'; downMs: number; failedChecks: number };

/** Where the shared store stands, as seen by the limiters that share it. */
type OutageState =
  | { kind: 'up' }
  | { kind: 'down'; since: number; failedChecks: number; nextProbeAt: number; probing: boolean };

export interface StoreOutageOptions {
  clock: Clock;
  /** While down, one check per this interval tries the store again; the rest go to the policy. */
  probeIntervalMs: number;
  /** Called once when an outage starts and once when it ends (log here, not per request). */
  onChange?: (event: OutageEvent) => void;
}

/**
 * The health of one shared store (Redis), shared by every limiter that uses it, so an outage
 * is reported once however many limiters and requests notice it. While down, checks skip the
 * store (no connect timeout per request) except one probe at a time every probeIntervalMs;
 * the first probe that succeeds ends the outage.
 */
export class StoreOutage {
  private state: OutageState = { kind: 'up' };

  constructor(private readonly options: StoreOutageOptions) {
    if (!(options.probeIntervalMs >= 0)) throw new RangeError(`probeIntervalMs must be ≥ 0, got ${options.probeIntervalMs}`);
  }

  get isDown(): boolean {
    return this.state.kind === 'down';
  }

  /** Whether this check should try the store; a true while down makes it the probe. */
  shouldTry(): boolean {
    const s = this.state;
    if (s.kind === 'up') return true;
    if (s.probing || this.options.clock.now() < s.nextProbeAt) return false;
    s.probing = true;
    return true;
  }

  succeeded(): void {
    const s = this.state;
    if (s.kind === 'up') return;
    this.state = { kind: 'up' };
    this.options.onChange?.({ state: 'up', downMs: this.options.clock.now() - s.since, failedChecks: s.failedChecks });
  }

  /** A check that tried the store and failed. */
  failed(error: unknown): void {
    const now = this.options.clock.now();
    const s = this.state;
    if (s.kind === 'down') {
      s.probing = false;
      s.nextProbeAt = now + this.options.probeIntervalMs;
      s.failedChecks++;
      return;
    }
    this.state = { kind: 'down', since: now, failedChecks: 1, nextProbeAt: now + this.options.probeIntervalMs, probing: false };
    this.options.onChange?.({ state: 'down', error });
  }

  /** A check decided by the policy without trying the store. */
  skipped(): void {
    if (this.state.kind === 'down') this.state.failedChecks++;
  }
}

import type { Clock } from '../clock.js';
import { BrokenCircuitError, BulkheadRejectedError, isPermanent } from './errors.js';
import { Listeners } from './events.js';
import { CountWindow, TimeWindow, type OutcomeWindow } from './failure-window.js';
import { contextFor, NEVER_ABORTED, type Policy, type PolicyFn } from './policy.js';
import { systemTimers, type Timers } from './timers.js';

export type CircuitStateKind = 'closed' | 'open' | 'half-open';

/** `reopens`: probe rounds failed in a row; each doubles (×openBackoffFactor) the open time. */
export type CircuitState =
  | { readonly kind: 'closed' }
  | { readonly kind: 'open'; readonly since: number; readonly until: number; readonly reopens: number }
  | { readonly kind: 'half-open'; readonly since: number; readonly reopens: number; readonly probes: number; readonly successes: number };

export type TransitionReason =
  | 'consecutive-failures'
  | 'failure-rate'
  | 'probe-failed'
  | 'probe-timeout'
  | 'open-elapsed'
  | 'probes-succeeded';

export type CircuitEvent =
  | { type: 'state-change'; from: CircuitStateKind; to: CircuitStateKind; at: number; reason: TransitionReason }
  | { type: 'rejected'; state: 'open' | 'half-open' }
  | { type: 'call'; state: CircuitStateKind; failed: boolean; slow: boolean; durationMs: number };

export interface FailureRateOptions {
  /** Open when failures / calls in the window reach this (0 < threshold ≤ 1). Default 0.5. */
  threshold?: number;
  /** …and the window holds at least this many calls. Default 10. */
  minimumCalls?: number;
  /** The last `size` calls, or the calls of the last `ms`. Default: the last 100 calls. */
  window?: { type: 'count'; size: number } | { type: 'time'; ms: number; buckets?: number };
}

export interface CircuitBreakerOptions {
  clock: Clock;
  /** For probe timeouts. */
  timers?: Timers;
  /** Open after this many failures in a row. Default 5, or off when `failureRate` is given. */
  consecutiveFailures?: number;
  /** Open on a failure rate over a sliding window (with a minimum volume). Default off. */
  failureRate?: FailureRateOptions;
  /** A call that takes longer than this counts as a failure even if it succeeded. Default off. */
  slowCallMs?: number;
  /** Time open before the first probe. Default 30,000 ms (the chapter's recovery_timeout). */
  openMs?: number;
  /** Each failed probe round multiplies the open time by this… Default 2. */
  openBackoffFactor?: number;
  /** …up to this. Default 300,000 ms. */
  maxOpenMs?: number;
  /** Probes admitted at once in half-open; every other call is rejected. Default 1. */
  halfOpenProbes?: number;
  /** Successful probes needed to close. Default 1. */
  successThreshold?: number;
  /**
   * A probe still running after this counts as failed (the breaker reopens and frees the
   * slot), so a stalled backend cannot pin half-open. Default 10,000 ms.
   */
  probeTimeoutMs?: number;
  /**
   * Which errors count as failures. Default: all but those marked permanent (a 400 is the
   * caller's fault) and BulkheadRejectedError (local overload says nothing of the backend).
   */
  isFailure?: (err: unknown) => boolean;
}

export interface CircuitBreakerSnapshot {
  v: 1;
  state: { kind: 'closed' } | { kind: 'open'; since: number; until: number; reopens: number } | { kind: 'half-open'; since: number; reopens: number };
  consecutiveFailures: number;
  window: number[];
}

interface Probe {
  settled: boolean;
  timer: unknown;
}

type MutableState =
  | { kind: 'closed' }
  | { kind: 'open'; since: number; until: number; reopens: number }
  | { kind: 'half-open'; since: number; reopens: number; probes: number; successes: number };

/**
 * A circuit breaker (chapter §7.2, §9.2) that fixes the chapter's sketch (defect 5 in
 * DESIGN.md):
 * - half-open admits `halfOpenProbes` calls at a time and rejects the rest at once with
 *   BrokenCircuitError; the sketch let every caller through as a "probe";
 * - a probe that stalls is failed after probeTimeoutMs, so it cannot pin half-open;
 * - slow calls count as failures, and a failure rate over a sliding window (with a minimum
 *   number of calls) can open it as well as N consecutive failures;
 * - the open time backs off on each failed probe round (capped) instead of a fixed 30 s.
 *
 * The state is a discriminated union; every transition bumps an epoch, and an outcome that
 * arrives after a transition (a call admitted before it opened, a probe that timed out) is
 * ignored. An open breaker becomes half-open on the first call (or `state` read) after `until`
 * (no timer runs while open). A call whose caller aborted it is ignored unless it was already slow.
 *
 * The breaker does not bound ordinary calls' duration: put a `timeout` inside it
 * (`wrap(breaker, timeout)`) so hangs become TimeoutErrors it counts.
 */
export class CircuitBreaker implements Policy {
  declare readonly _alt: never;
  private s: MutableState = { kind: 'closed' };
  private epoch = 0;
  private consecutive = 0;
  private readonly window: OutcomeWindow | undefined;
  private readonly events = new Listeners<CircuitEvent>();
  private readonly timers: Timers;
  private readonly consecutiveLimit: number;
  private readonly rateThreshold: number;
  private readonly minimumCalls: number;
  private readonly slowCallMs: number;
  private readonly openMs: number;
  private readonly openBackoffFactor: number;
  private readonly maxOpenMs: number;
  private readonly halfOpenProbes: number;
  private readonly successThreshold: number;
  private readonly probeTimeoutMs: number;
  private readonly isFailure: (err: unknown) => boolean;
  /** Whether an ordinary call must read the clock (slow calls or a time window). */
  private readonly timed: boolean;

  constructor(private readonly options: CircuitBreakerOptions) {
    const o = options;
    const rate = o.failureRate;
    this.consecutiveLimit = o.consecutiveFailures ?? (rate === undefined ? 5 : Infinity);
    this.rateThreshold = rate?.threshold ?? 0.5;
    this.minimumCalls = rate?.minimumCalls ?? 10;
    this.slowCallMs = o.slowCallMs ?? Infinity;
    this.openMs = o.openMs ?? 30_000;
    this.openBackoffFactor = o.openBackoffFactor ?? 2;
    this.maxOpenMs = o.maxOpenMs ?? Math.max(300_000, this.openMs);
    this.halfOpenProbes = o.halfOpenProbes ?? 1;
    this.successThreshold = o.successThreshold ?? 1;
    this.probeTimeoutMs = o.probeTimeoutMs ?? 10_000;
    this.isFailure = o.isFailure ?? defaultIsFailure;
    this.timers = o.timers ?? systemTimers;
    positive('consecutiveFailures', this.consecutiveLimit);
    positive('slowCallMs', this.slowCallMs);
    positive('openMs', this.openMs);
    positive('maxOpenMs', this.maxOpenMs);
    positive('probeTimeoutMs', this.probeTimeoutMs);
    if (!(this.openBackoffFactor >= 1)) throw new RangeError(`circuit breaker: openBackoffFactor must be ≥ 1, got ${this.openBackoffFactor}`);
    if (!(this.rateThreshold > 0 && this.rateThreshold <= 1)) {
      throw new RangeError(`circuit breaker: failureRate.threshold must be in (0, 1], got ${this.rateThreshold}`);
    }
    count('halfOpenProbes', this.halfOpenProbes);
    count('successThreshold', this.successThreshold);
    count('failureRate.minimumCalls', this.minimumCalls);
    const w = rate === undefined ? undefined : (rate.window ?? { type: 'count', size: 100 });
    this.window = w === undefined ? undefined : w.type === 'count' ? new CountWindow(w.size) : new TimeWindow(w.ms, w.buckets);
    if (w?.type === 'count' && this.minimumCalls > w.size) {
      throw new RangeError(`circuit breaker: failureRate.minimumCalls (${this.minimumCalls}) exceeds the window size (${w.size}), so it could never open`);
    }
    this.timed = this.slowCallMs !== Infinity || this.window instanceof TimeWindow;
  }

  /** A breaker in the state a `toJSON()` (possibly of another process) saved. */
  static fromJSON(json: unknown, options: CircuitBreakerOptions): CircuitBreaker {
    const breaker = new CircuitBreaker(options);
    breaker.restore(parseSnapshot(json));
    return breaker;
  }

  /**
   * The current state. Reading it moves an open breaker whose time is up to half-open (with
   * its event), so a metrics gauge shows what the next call will meet.
   */
  get state(): CircuitState {
    this.refresh(this.options.clock.now());
    return { ...this.s };
  }

  /** Listens to state changes, rejections and call outcomes (for metrics and logs). */
  on(listener: (event: CircuitEvent) => void): () => void {
    return this.events.on(listener);
  }

  async execute<T>(fn: PolicyFn<T>, signal: AbortSignal = NEVER_ABORTED): Promise<T> {
    const probe = this.s.kind === 'closed' ? undefined : this.admit();
    const epoch = this.epoch;
    const start = this.timed || probe !== undefined || this.events.active ? this.options.clock.now() : undefined;
    let value: T;
    try {
      value = await fn(contextFor(signal));
    } catch (err) {
      this.settle(epoch, probe, start, true, err, signal);
      throw err;
    }
    this.settle(epoch, probe, start, false, undefined, signal);
    return value;
  }

  toJSON(): CircuitBreakerSnapshot {
    const s = this.s;
    const state: CircuitBreakerSnapshot['state'] =
      s.kind === 'closed'
        ? { kind: 'closed' }
        : s.kind === 'open'
          ? { kind: 'open', since: s.since, until: s.until, reopens: s.reopens }
          : { kind: 'half-open', since: s.since, reopens: s.reopens };
    return { v: 1, state, consecutiveFailures: this.consecutive, window: this.window?.snapshot() ?? [] };
  }

  /** Admits a call in open/half-open, or throws. Returns the probe to settle. */
  private admit(): Probe {
    const now = this.options.clock.now();
    this.refresh(now);
    if (this.s.kind === 'open') this.reject('open', this.s.until - now);
    const s = this.s as Extract<MutableState, { kind: 'half-open' }>;
    if (s.probes >= this.halfOpenProbes) this.reject('half-open', 0);
    s.probes++;
    const probe: Probe = { settled: false, timer: undefined };
    const epoch = this.epoch;
    if (this.probeTimeoutMs !== Infinity) {
      probe.timer = this.timers.setTimeout(() => {
        if (probe.settled || epoch !== this.epoch) return;
        probe.settled = true;
        this.failProbe('probe-timeout');
      }, this.probeTimeoutMs);
    }
    return probe;
  }

  /** Open whose time is up → half-open. */
  private refresh(now: number): void {
    const s = this.s;
    if (s.kind === 'open' && now >= s.until) {
      this.transition({ kind: 'half-open', since: now, reopens: s.reopens, probes: 0, successes: 0 }, 'open-elapsed', now);
    }
  }

  private reject(state: 'open' | 'half-open', retryAfterMs: number): never {
    if (this.events.active) this.events.emit({ type: 'rejected', state });
    throw new BrokenCircuitError(state, retryAfterMs);
  }

  private settle(epoch: number, probe: Probe | undefined, start: number | undefined, errored: boolean, err: unknown, signal: AbortSignal): void {
    if (probe !== undefined) {
      if (probe.settled) return;
      probe.settled = true;
      if (probe.timer !== undefined) this.timers.clearTimeout(probe.timer);
    }
    if (epoch !== this.epoch) return;
    const now = start === undefined ? 0 : this.options.clock.now();
    const durationMs = start === undefined ? 0 : now - start;
    const slow = durationMs > this.slowCallMs;
    const s = this.s;
    if (errored && signal.aborted && !slow) {
      if (s.kind === 'half-open') s.probes--; // the caller gave up: no verdict, free the slot
      return;
    }
    const failed = slow || (errored && this.isFailure(err));
    if (this.events.active) this.events.emit({ type: 'call', state: s.kind, failed, slow, durationMs });
    if (s.kind === 'half-open') {
      if (failed) return this.failProbe('probe-failed');
      s.probes--;
      if (++s.successes >= this.successThreshold) this.transition({ kind: 'closed' }, 'probes-succeeded', now);
      return;
    }
    if (s.kind !== 'closed') return;
    this.consecutive = failed ? this.consecutive + 1 : 0;
    this.window?.record(failed, now);
    if (!failed) return;
    if (this.consecutive >= this.consecutiveLimit) return this.open('consecutive-failures', 0);
    if (this.window !== undefined) {
      const { calls, failures } = this.window.stats(now);
      if (calls >= this.minimumCalls && failures >= this.rateThreshold * calls) this.open('failure-rate', 0);
    }
  }

  private failProbe(reason: 'probe-failed' | 'probe-timeout'): void {
    const s = this.s;
    if (s.kind === 'half-open') this.open(reason, s.reopens + 1);
  }

  private open(reason: TransitionReason, reopens: number): void {
    const now = this.options.clock.now();
    const ms = Math.min(this.maxOpenMs, this.openMs * this.openBackoffFactor ** reopens);
    this.transition({ kind: 'open', since: now, until: now + ms, reopens }, reason, now);
  }

  private transition(next: MutableState, reason: TransitionReason, now: number): void {
    const from = this.s.kind;
    this.s = next;
    this.epoch++;
    if (next.kind === 'closed') {
      this.consecutive = 0;
      this.window?.reset();
    }
    if (this.events.active) this.events.emit({ type: 'state-change', from, to: next.kind, at: now, reason });
  }

  private restore(snap: CircuitBreakerSnapshot): void {
    const st = snap.state;
    this.s = st.kind === 'half-open' ? { ...st, probes: 0, successes: 0 } : { ...st };
    this.epoch++;
    this.consecutive = snap.consecutiveFailures;
    this.window?.restore(snap.window, this.options.clock.now());
  }
}

export function circuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  return new CircuitBreaker(options);
}

function defaultIsFailure(err: unknown): boolean {
  return !isPermanent(err) && !(err instanceof BulkheadRejectedError);
}

function positive(name: string, v: number): void {
  if (!(v > 0)) throw new RangeError(`circuit breaker: ${name} must be > 0, got ${v}`);
}

function count(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`circuit breaker: ${name} must be an integer ≥ 1, got ${v}`);
}

function parseSnapshot(json: unknown): CircuitBreakerSnapshot {
  const bad = (why: string): never => {
    throw new TypeError(`not a circuit breaker snapshot: ${why}`);
  };
  const j = (typeof json === 'string' ? JSON.parse(json) : json) as Partial<CircuitBreakerSnapshot> | null;
  if (typeof j !== 'object' || j === null || j.v !== 1) return bad('version');
  const st = j.state as Record<string, unknown> | undefined;
  const num = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
  if (st?.kind === 'open' ? !(num(st.since) && num(st.until) && num(st.reopens)) : st?.kind === 'half-open' ? !(num(st.since) && num(st.reopens)) : st?.kind !== 'closed') {
    return bad('state');
  }
  if (!Number.isSafeInteger(j.consecutiveFailures) || !Array.isArray(j.window) || !j.window.every(num)) return bad('counters');
  return j as CircuitBreakerSnapshot;
}

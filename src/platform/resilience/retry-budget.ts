import type { Clock } from '../clock.js';

export interface RetryBudgetOptions {
  /** Retries earned per call: 0.1 means retries may be at most 10% of calls. Default 0.1. */
  ratio?: number;
  /** Retries per second allowed however few calls there are (the floor). Default 1. */
  minPerSecond?: number;
  /** Most retries saved up; the bucket starts full. Default 10. */
  maxTokens?: number;
  clock: Clock;
}

/** Absorbs float error from fractional refill rates. */
const EPSILON = 1e-6;

/**
 * A retry budget (Finagle's RetryBudget, Envoy's retry budget, the AWS SDK's retry quota):
 * a token bucket per client that every call fills by `ratio` and time fills by
 * `minPerSecond`, and that every retry drains by one. When a dependency is down, every call
 * fails, and without a budget each layer's 3 attempts multiply its load (3 layers: 27×);
 * with one, retries add at most `ratio` of the calls plus the floor, on top of `maxTokens`
 * saved while things were healthy.
 *
 * Over any interval of T seconds with C calls, retries ≤ maxTokens + ratio × C +
 * minPerSecond × T. Tokens are kept in thousandths, so deposits of a ratio like 0.1 add up
 * exactly (ten calls earn one whole retry, not 0.9999…).
 *
 * Share one budget between every retry policy that calls the same dependency.
 */
export class RetryBudget {
  private milli: number;
  private updatedAt: number;
  private readonly depositMilli: number;
  private readonly maxMilli: number;
  /** Thousandths of a token per millisecond = tokens per second. */
  private readonly refillPerMs: number;

  constructor(private readonly options: RetryBudgetOptions) {
    const { ratio = 0.1, minPerSecond = 1, maxTokens = 10 } = options;
    if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`ratio must be in [0, 1], got ${ratio}`);
    if (!(minPerSecond >= 0) || !Number.isFinite(minPerSecond)) {
      throw new RangeError(`minPerSecond must be finite and ≥ 0, got ${minPerSecond}`);
    }
    if (!(maxTokens >= 1) || !Number.isFinite(maxTokens)) throw new RangeError(`maxTokens must be finite and ≥ 1, got ${maxTokens}`);
    this.depositMilli = Math.round(ratio * 1000);
    this.maxMilli = Math.round(maxTokens * 1000);
    this.refillPerMs = minPerSecond;
    this.milli = this.maxMilli;
    this.updatedAt = options.clock.now();
  }

  /** A call (first attempt) is being made: it earns `ratio` of a retry. */
  recordCall(): void {
    this.refill();
    this.milli = Math.min(this.maxMilli, this.milli + this.depositMilli);
  }

  /** Takes one retry if the budget has it. */
  tryRetry(): boolean {
    this.refill();
    if (this.milli + EPSILON < 1000) return false;
    this.milli = Math.max(0, this.milli - 1000);
    return true;
  }

  /** Whole retries available now. */
  get available(): number {
    this.refill();
    return Math.floor((this.milli + EPSILON) / 1000);
  }

  private refill(): void {
    const now = this.options.clock.now();
    if (now > this.updatedAt) {
      this.milli = Math.min(this.maxMilli, this.milli + (now - this.updatedAt) * this.refillPerMs);
      this.updatedAt = now;
    }
  }
}

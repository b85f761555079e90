import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** A bare number behind `.inc()`: read by a Prometheus counter only when scraped. */
export class HotCounter {
  value = 0;
  inc(): void {
    this.value++;
  }
}

const OUTCOMES = ['redirect', 'missing', 'gone', 'password', 'rate_limited'] as const;

/** Prometheus instruments, on a registry of their own (no global state). */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'tny_http_request_duration_seconds',
    help: 'API request latency (redirects are counted in tny_redirects_total)',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  /**
   * Redirect outcomes, counted as plain numbers: this runs for every click, and a labelled
   * prom-client counter hashes its labels on every `inc()`.
   */
  readonly redirect = {
    ok: new HotCounter(),
    missing: new HotCounter(),
    gone: new HotCounter(),
    password: new HotCounter(),
    limited: new HotCounter(),
  };
  readonly rateLimited = new Counter({
    name: 'tny_rate_limited_total',
    help: 'Requests refused by a rate limit',
    labelNames: ['limit'],
    registers: [this.registry],
  });
  readonly rateLimitStoreFailures = new Counter({
    name: 'tny_rate_limit_store_failures_total',
    help: 'Rate-limit checks decided by RATE_LIMIT_REDIS_FAILURE because Redis did not answer',
    labelNames: ['policy'],
    registers: [this.registry],
  });
  readonly clickFlushErrors = new Counter({
    name: 'tny_click_flush_errors_total',
    help: 'Click flushes that failed (their clicks are retried)',
    registers: [this.registry],
  });
  readonly clicksDropped = new Counter({
    name: 'tny_clicks_dropped_total',
    help: 'Click aggregates dropped because the buffer was full while flushes failed',
    registers: [this.registry],
  });

  constructor(gauges: { name: string; help: string; read: () => number }[] = [], defaults = true) {
    const hot = this.redirect;
    const byOutcome = [hot.ok, hot.missing, hot.gone, hot.password, hot.limited];
    new Counter({
      name: 'tny_redirects_total',
      help: 'Short-link requests by outcome',
      labelNames: ['outcome'],
      registers: [this.registry],
      collect() {
        this.reset();
        OUTCOMES.forEach((outcome, i) => this.labels(outcome).inc(byOutcome[i]!.value));
      },
    });
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'tny_' });
    for (const g of gauges) {
      new Gauge({
        name: g.name,
        help: g.help,
        registers: [this.registry],
        collect() {
          this.set(g.read());
        },
      });
    }
  }
}

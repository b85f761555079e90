import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/platform/clock.js';
import { exponentialBackoff } from '../../src/platform/resilience/backoff.js';
import { bulkhead } from '../../src/platform/resilience/bulkhead.js';
import { CircuitBreaker, circuitBreaker } from '../../src/platform/resilience/circuit-breaker.js';
import { BrokenCircuitError, PermanentError, RetryableError, TimeoutError } from '../../src/platform/resilience/errors.js';
import { retry } from '../../src/platform/resilience/retry.js';
import { parseRetryAfter } from '../../src/platform/resilience/retry-after.js';
import { timeout } from '../../src/platform/resilience/timeout.js';
import { wrap } from '../../src/platform/resilience/wrap.js';
import { describeWithRedis, useRedis } from '../helpers/redis.js';

/**
 * The policies against real I/O: a local HTTP "provider" reached with fetch (undici), real
 * timers and the system clock. Delays are kept to tens of milliseconds except one real
 * Retry-After of 1 s (the header's smallest unit).
 */

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let base: string;
const routes = new Map<string, Handler>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const handler = routes.get(req.url ?? '');
    if (handler) handler(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** A provider adapter as the notifier will write one: HTTP status → the error vocabulary. */
async function send(path: string, signal: AbortSignal): Promise<string> {
  const res = await fetch(base + path, { signal });
  const body = await res.text();
  if (res.ok) return body;
  const message = `provider answered ${res.status}`;
  if (res.status === 429 || res.status >= 500) {
    throw new RetryableError(message, { retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), Date.now()) });
  }
  throw new PermanentError(message);
}

describe('resilience policies over real HTTP', () => {
  it('a timeout aborts the real request: the provider sees the connection close', async () => {
    let closed!: () => void;
    const sawClose = new Promise<void>((resolve) => (closed = resolve));
    routes.set('/hang', (req) => req.socket.once('close', closed)); // never answers
    const started = performance.now();
    await expect(timeout(100).execute(({ signal }) => send('/hang', signal))).rejects.toBeInstanceOf(TimeoutError);
    expect(performance.now() - started).toBeLessThan(1000);
    await expect(Promise.race([sawClose.then(() => 'closed'), new Promise((r) => setTimeout(r, 2000, 'still open'))])).resolves.toBe('closed');
  });

  it('a real 429 with Retry-After: 1 is retried no sooner than 1 s later', async () => {
    const hits: number[] = [];
    routes.set('/busy', (_req, res) => {
      hits.push(performance.now());
      if (hits.length === 1) res.writeHead(429, { 'retry-after': '1' }).end();
      else res.writeHead(200).end('sent');
    });
    const policy = retry({ maxAttempts: 3, backoff: exponentialBackoff({ baseMs: 10 }) });
    await expect(policy.execute(({ signal }) => send('/busy', signal))).resolves.toBe('sent');
    expect(hits).toHaveLength(2);
    expect((hits[1] as number) - (hits[0] as number)).toBeGreaterThanOrEqual(995);
  });

  it('a 400 is not retried and does not open the breaker', async () => {
    let hits = 0;
    routes.set('/bad', (_req, res) => {
      hits++;
      res.writeHead(400).end();
    });
    const breaker = circuitBreaker({ clock: systemClock, consecutiveFailures: 2 });
    const policy = wrap(retry({ maxAttempts: 3, backoff: exponentialBackoff({ baseMs: 5 }) }), breaker);
    for (let i = 0; i < 3; i++) await expect(policy.execute(({ signal }) => send('/bad', signal))).rejects.toBeInstanceOf(PermanentError);
    expect(hits).toBe(3);
    expect(breaker.state.kind).toBe('closed');
  });

  it('a provider answering 503 stops receiving calls once the breaker opens', async () => {
    let hits = 0;
    routes.set('/down', (_req, res) => {
      hits++;
      res.writeHead(503).end();
    });
    const breaker = circuitBreaker({ clock: systemClock, consecutiveFailures: 3, openMs: 60_000 });
    const policy = wrap(breaker, timeout(1000));
    const outcomes = [];
    for (let i = 0; i < 10; i++) outcomes.push(await policy.execute(({ signal }) => send('/down', signal)).catch((e: unknown) => e));
    expect(hits).toBe(3);
    expect(outcomes.slice(0, 3).every((e) => e instanceof RetryableError)).toBe(true);
    expect(outcomes.slice(3).every((e) => e instanceof BrokenCircuitError)).toBe(true);
  });

  it('a bulkhead bounds the requests in flight at the provider', async () => {
    let inFlight = 0;
    let peak = 0;
    routes.set('/slow', (_req, res) => {
      peak = Math.max(peak, ++inFlight);
      setTimeout(() => {
        inFlight--;
        res.writeHead(200).end('ok');
      }, 20);
    });
    const policy = bulkhead({ maxConcurrent: 4, maxQueue: 100 });
    const results = await Promise.all(Array.from({ length: 24 }, () => policy.execute(({ signal }) => send('/slow', signal))));
    expect(results.every((r) => r === 'ok')).toBe(true);
    expect(peak).toBe(4);
  });
});

describeWithRedis('circuit breaker state in Redis', (url) => {
  const { redis, prefix } = useRedis(url);

  it('an open breaker saved by one instance rejects in another that loads it', async () => {
    const key = `${prefix}breaker:sms-provider`;
    const options = { clock: systemClock, consecutiveFailures: 2, openMs: 30_000 };
    const first = circuitBreaker(options);
    for (let i = 0; i < 2; i++) await first.execute(() => Promise.reject(new RetryableError('503'))).catch(() => undefined);
    expect(first.state.kind).toBe('open');
    await redis().set(key, JSON.stringify(first), 'PX', 30_000);

    const stored = await redis().get(key);
    const second = CircuitBreaker.fromJSON(stored, options);
    let called = false;
    const err = await second
      .execute(async () => {
        called = true;
      })
      .catch((e: unknown) => e);
    expect(called).toBe(false);
    expect(err).toBeInstanceOf(BrokenCircuitError);
    expect((err as BrokenCircuitError).retryAfterMs).toBeGreaterThan(25_000);
  });
});

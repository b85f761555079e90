import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { openRedis, type RedisHandle } from '../../src/adapters/redis/open-redis.js';
import { FakeClock } from '../../src/platform/clock.js';
import { createRateLimiter } from '../../src/platform/rate-limit/create-rate-limiter.js';
import type { RateLimitFailurePolicy } from '../../src/platform/rate-limit/failover-rate-limiter.js';
import { StoreOutage, type OutageEvent } from '../../src/platform/rate-limit/store-outage.js';
import { describeWithRedis, useRedis } from '../helpers/redis.js';

/** A TCP proxy in front of Redis that can be cut (connections refused) or made to swallow traffic. */
class RedisProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  blackhole = false;
  port = 0;

  constructor(private readonly target: URL) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(Number(this.target.port || 6379), this.target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => this.sockets.delete(s));
      }
      client.on('data', (chunk) => {
        if (!this.blackhole) upstream.write(chunk);
      });
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }
}

const until = async (ok: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describeWithRedis('rate limits when Redis goes away', (url) => {
  const { redis, prefix } = useRedis(url);
  let cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
  });

  async function setup(policy: RateLimitFailurePolicy, name: string, timeoutMs = 150) {
    const proxy = new RedisProxy(new URL(url));
    await proxy.start();
    cleanup.push(() => proxy.stop());
    const handle: RedisHandle = await openRedis(`redis://127.0.0.1:${proxy.port}`);
    cleanup.push(async () => handle.redis.disconnect()); // not quit(): it would wait on a swallowed reply
    const clock = new FakeClock(Date.now());
    const events: OutageEvent[] = [];
    const failures: string[] = [];
    const outage = new StoreOutage({ clock, probeIntervalMs: 1000, onChange: (e) => events.push(e) });
    const keyPrefix = `${prefix}${name}:`;
    const limiter = createRateLimiter(
      { algorithm: 'gcra', limit: 2, windowMs: 60_000 },
      { clock, maxKeys: 100, shared: { client: handle.redis, prefix: keyPrefix, policy, outage, timeoutMs, onFailure: (p) => failures.push(p) } },
    );
    return { proxy, handle, clock, events, failures, limiter, keyPrefix };
  }

  it.each([
    ['open', [true, true, true]],
    ['closed', [false, false, false]],
    ['local', [true, true, false]],
  ] as const)('policy %s while Redis is unreachable; one outage event; back to the shared count after', async (policy, whileDown) => {
    const { proxy, handle, clock, events, failures, limiter, keyPrefix } = await setup(policy, `cut-${policy}`);
    expect(await limiter.consume('k')).toMatchObject({ allowed: true, remaining: 1 });
    expect(await redis().exists(`${keyPrefix}k`)).toBe(1); // the decision was Redis's

    await proxy.stop();
    await until(() => handle.redis.status !== 'ready');
    const down = [];
    for (let i = 0; i < 3; i++) down.push((await limiter.consume('k')).allowed);
    expect(down).toEqual(whileDown);
    expect(events.map((e) => e.state)).toEqual(['down']);
    expect(failures).toEqual([policy, policy, policy]);

    await proxy.start();
    await until(() => handle.redis.status === 'ready');
    clock.advance(1000); // the next check is the probe
    // Redis still holds the one unit taken before the outage: one more is allowed, then none.
    expect(await limiter.consume('k')).toMatchObject({ allowed: true, remaining: 0 });
    expect(await limiter.consume('k')).toMatchObject({ allowed: false });
    expect(events.map((e) => e.state)).toEqual(['down', 'up']);
    expect(events[1]).toMatchObject({ failedChecks: 3 });
  });

  it('a Redis that stops answering counts as down after the timeout', async () => {
    const { proxy, events, failures, limiter } = await setup('closed', 'hang', 300);
    expect(await limiter.consume('k')).toMatchObject({ allowed: true });
    proxy.blackhole = true;
    const started = Date.now();
    expect(await limiter.consume('k')).toMatchObject({ allowed: false, retryAfterMs: 1000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(events).toMatchObject([{ state: 'down' }]);
    // Until the next probe, checks do not wait on the silent connection.
    const quick = Date.now();
    await limiter.consume('k');
    expect(Date.now() - quick).toBeLessThan(200);
    expect(failures).toEqual(['closed', 'closed']);
  });
});

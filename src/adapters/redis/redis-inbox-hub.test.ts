import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { describeWithRedis, uniquePrefix } from '../../../test/helpers/redis.js';
import type { InboxMessage } from '../../notifier/inbox/inbox.js';
import { RedisInboxHub } from './redis-inbox-hub.js';

const message = (id: number, recipientId = 'ada', accountId = 1): InboxMessage => ({ id, accountId, recipientId, title: `t${id}`, body: 'b', data: { n: id }, createdAt: 1000 + id, readAt: null });

/** Two "processes" (two hubs with their own connections) on one real Redis. */
describeWithRedis('RedisInboxHub', (url) => {
  const opened: Redis[] = [];
  const hubs: RedisInboxHub[] = [];
  const connect = () => {
    const r = new Redis(url);
    opened.push(r);
    return r;
  };
  const hub = async (prefix: string) => {
    const h = await RedisInboxHub.create(connect(), connect(), { prefix });
    hubs.push(h);
    return h;
  };
  afterAll(async () => {
    for (const h of hubs) await h.close();
    for (const r of opened) r.disconnect();
  });
  const until = async (check: () => boolean, ms = 2000) => {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  it('a message published by one process reaches the subscribers of another, once, and its own at once', async () => {
    const prefix = uniquePrefix();
    const worker = await hub(prefix);
    const api = await hub(prefix);
    const onApi: InboxMessage[] = [];
    const onWorker: InboxMessage[] = [];
    api.subscribe(1, 'ada', (m) => onApi.push(m));
    worker.subscribe(1, 'ada', (m) => onWorker.push(m));
    const other: InboxMessage[] = [];
    api.subscribe(1, 'bob', (m) => other.push(m));
    api.subscribe(2, 'ada', (m) => other.push(m));
    const t0 = performance.now();
    worker.publish(message(1));
    expect(onWorker.map((m) => m.id)).toEqual([1]); // local, synchronous
    await until(() => onApi.length === 1);
    const ms = performance.now() - t0;
    expect(onApi[0]).toEqual(message(1));
    expect(ms).toBeLessThan(100);
    await new Promise((r) => setTimeout(r, 50));
    expect(onWorker).toHaveLength(1); // its own echo is ignored
    expect(other).toEqual([]);
    expect(api.stats.received).toBe(1);
  });

  it('another prefix (another deployment on the same Redis) hears nothing; malformed messages are dropped', async () => {
    const a = await hub(uniquePrefix());
    const b = await hub(uniquePrefix());
    const got: InboxMessage[] = [];
    b.subscribe(1, 'ada', (m) => got.push(m));
    a.publish(message(2));
    const raw = connect();
    await raw.publish(`${(b as unknown as { channel: string }).channel}`, 'not json');
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual([]);
    expect(b.stats.malformed).toBe(1);
  });

  it('many messages from two publishers all arrive, in the order of each publisher', async () => {
    const prefix = uniquePrefix();
    const [p1, p2, sub] = [await hub(prefix), await hub(prefix), await hub(prefix)];
    const got: InboxMessage[] = [];
    sub.subscribe(1, 'ada', (m) => got.push(m));
    for (let i = 0; i < 200; i++) {
      p1.publish(message(i));
      p2.publish(message(10_000 + i));
    }
    await until(() => got.length === 400);
    const ids = got.map((m) => m.id);
    expect(ids.filter((id) => id < 10_000)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(ids.filter((id) => id >= 10_000)).toEqual(Array.from({ length: 200 }, (_, i) => 10_000 + i));
  });
});

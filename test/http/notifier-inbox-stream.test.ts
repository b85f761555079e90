import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { expectData } from './support.js';

/** One Server-Sent Events block: `id`/`event`/`data` fields, or a comment. */
interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** A streaming fetch of an SSE endpoint that parses blocks as they arrive. */
class SseClient {
  readonly events: SseEvent[] = [];
  status = 0;
  contentType = '';
  ended = false;
  private readonly controller = new AbortController();
  private waiters: Array<() => void> = [];

  static async open(url: string, headers: Record<string, string>): Promise<SseClient> {
    const client = new SseClient();
    const res = await fetch(url, { headers, signal: client.controller.signal });
    client.status = res.status;
    client.contentType = res.headers.get('content-type') ?? '';
    if (res.body) void client.pump(res.body);
    return client;
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) event.comment = line.slice(1).trim();
            else {
              const i = line.indexOf(':');
              (event as Record<string, string>)[line.slice(0, i)] = line.slice(i + 1).trimStart();
            }
          }
          this.events.push(event);
        }
        this.wake();
      }
    } catch {
      // aborted by the test
    }
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    waiting.forEach((w) => w());
  }

  messages(): SseEvent[] {
    return this.events.filter((e) => e.event === 'message');
  }

  /** Resolves when `done()` holds, rejects after `ms`. */
  async until(done: () => boolean, ms = 2000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (this.ended) throw new Error('stream ended');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; got ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.controller.abort();
  }
}

const signal = new AbortController().signal;

describe('notifier API: live inbox stream (SSE over a real socket)', () => {
  let t: TestApp;
  let alice: string;
  let accountId: number;
  let base: string;
  let n = 0;
  const send = async (recipientId = 'user-1') => {
    const key = `d-${n++}`;
    const r = await t.container.inAppChannel.send({ channel: 'in_app', accountId, recipientId, title: `T ${key}`, body: 'B', data: { key } }, { idempotencyKey: key, signal });
    return r.providerMessageId!.replace('inbox:', '');
  };
  const open = (recipient = 'user-1', headers: Record<string, string> = {}, url = base) =>
    SseClient.open(`${url}/api/v1/recipients/${recipient}/inbox/stream`, { authorization: `Bearer ${alice}`, ...headers });
  const hub = () => t.container.inbox!.hub;
  const waitFor = async (cond: () => boolean) => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(cond()).toBe(true);
  };

  beforeAll(async () => {
    t = await makeTestApp();
    alice = await t.newAccountKey('alice');
    accountId = (await t.container.auth.authenticate(alice))!.accountId;
    for (const id of ['user-1', 'user-2', 'user-3', 'user-4']) {
      expectData(await t.call('POST', '/api/v1/recipients', { key: alice, body: { id } }), 201);
    }
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    // fetch keeps idle keep-alive sockets for 4 s; the streams on them are already closed.
    t.app.server.closeAllConnections();
    await t.close();
  });

  it('delivers a message sent after connecting within 100 ms, with the message id as event id', async () => {
    const client = await open();
    expect(client.status).toBe(200);
    expect(client.contentType).toMatch(/^text\/event-stream/);
    await client.until(() => client.events.some((e) => e.comment === 'connected'));
    const started = performance.now();
    const id = await send();
    await client.until(() => client.messages().length === 1, 1000);
    const elapsed = performance.now() - started;
    const [event] = client.messages();
    expect(event!.id).toBe(id);
    expect(JSON.parse(event!.data!)).toMatchObject({ id, title: `T d-${n - 1}`, body: 'B', read_at: null });
    expect(elapsed).toBeLessThan(100);
    client.close();
  });

  it('replays what was missed since Last-Event-ID, in order, then goes live without gaps or repeats', async () => {
    const seen = await send('user-2');
    const missed = [await send('user-2'), await send('user-2'), await send('user-2')];
    const client = await open('user-2', { 'last-event-id': seen });
    await client.until(() => client.messages().length === 3);
    expect(client.messages().map((e) => e.id)).toEqual(missed);
    const live = await send('user-2');
    await client.until(() => client.messages().length === 4);
    expect(client.messages().map((e) => e.id)).toEqual([...missed, live]);
    client.close();
  });

  it('loses and repeats nothing when a message arrives while the replay is being read', async () => {
    const first = await send('user-3');
    const missed = [await send('user-3'), await send('user-3')];
    const during: string[] = [];
    // A store whose replay read lets a new message be stored and published before it answers.
    const real = t.container.inbox!.inbox;
    const racing = Object.create(real) as typeof real;
    racing.since = async (...args) => {
      const rows = await real.since(...args);
      during.push(await send('user-3'));
      return rows;
    };
    const app = await buildApp({ ...t.container, inbox: { ...t.container.inbox!, inbox: racing } });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const client = await open('user-3', { 'last-event-id': first }, url);
    await client.until(() => client.messages().length >= 3);
    const live = await send('user-3');
    await client.until(() => client.messages().length >= 4);
    expect(during).toHaveLength(1);
    expect(client.messages().map((e) => e.id)).toEqual([...missed, ...during, live]);
    client.close();
    app.server.closeAllConnections();
    await app.close();
  });

  it('delivers live messages published out of id order (concurrent PostgreSQL commits)', async () => {
    const client = await open('user-2');
    await client.until(() => client.events.some((e) => e.comment === 'connected'));
    const store = t.container.inbox!.inbox;
    const stored = async (key: string) => (await store.insert({ accountId, recipientId: 'user-2', idempotencyKey: key, title: key, body: 'B', data: null, now: Date.now() }))!.message;
    const lower = await stored('order-1');
    const higher = await stored('order-2');
    hub().publish(higher);
    hub().publish(lower);
    await client.until(() => client.messages().length === 2);
    expect(client.messages().map((e) => e.id)).toEqual([String(higher.id), String(lower.id)]);
    client.close();
  });

  it('a notification sent through POST /api/v1/notifications arrives on the stream and in the inbox, once', async () => {
    for (const [method, url, body] of [
      ['POST', '/api/v1/recipients', { id: 'user-5' }],
      ['POST', '/api/v1/categories', { name: 'social', default_channels: ['in_app'] }],
      ['PUT', '/api/v1/templates/hello/in_app/en', { subject: 'Hello {{ name }}', body: 'You have a new follower.' }],
    ] as const) {
      const res = await t.call(method, url, { key: alice, body });
      expect(res.statusCode, res.body).toBeLessThan(300);
    }
    const client = await open('user-5');
    await client.until(() => client.events.some((e) => e.comment === 'connected'));
    const notification = { recipient: 'user-5', category: 'social', template: 'hello', data: { name: 'Ada' } };
    const accepted = await t.call('POST', '/api/v1/notifications', { key: alice, body: notification, headers: { 'idempotency-key': 'follow-1' } });
    expect(accepted.statusCode, accepted.body).toBe(202);
    await client.until(() => client.messages().length === 1, 5000);
    expect(JSON.parse(client.messages()[0]!.data!)).toMatchObject({ title: 'Hello Ada', body: 'You have a new follower.', read_at: null });
    const again = await t.call('POST', '/api/v1/notifications', { key: alice, body: notification, headers: { 'idempotency-key': 'follow-1' } });
    expect(again.statusCode).toBe(202);
    await new Promise((r) => setTimeout(r, 200));
    expect(client.messages()).toHaveLength(1);
    expect(expectData<unknown[]>(await t.call('GET', '/api/v1/recipients/user-5/inbox', { key: alice }))).toHaveLength(1);
    client.close();
  });

  it('unsubscribes on disconnect and bounds the streams per recipient', async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, () => open('user-4')));
    expect(clients.map((c) => c.status)).toEqual(Array(8).fill(200));
    await waitFor(() => hub().subscriberCount(accountId, 'user-4') === 8);
    const refused = await fetch(`${base}/api/v1/recipients/user-4/inbox/stream`, { headers: { authorization: `Bearer ${alice}` } });
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    clients.forEach((c) => c.close());
    await waitFor(() => hub().subscriberCount(accountId, 'user-4') === 0);
    const again = await open('user-4');
    expect(again.status).toBe(200);
    again.close();
  });

  it('sends heartbeat comments and ends open streams when the app closes', async () => {
    const fast: FastifyInstance = await buildApp({ ...t.container, inbox: { ...t.container.inbox!, heartbeatMs: 30 } });
    const url = await fast.listen({ port: 0, host: '127.0.0.1' });
    const client = await open('user-1', {}, url);
    await client.until(() => client.events.filter((e) => e.comment === 'heartbeat').length >= 2);
    await fast.close();
    await client.until(() => client.ended);
    await waitFor(() => hub().subscriberCount(accountId, 'user-1') === 0);
  });
});

import { describe, expect, it } from 'vitest';
import { InboxHub } from '../../notifier/inbox/inbox-hub.js';
import type { InboxMessage, InboxRepository, NewInboxMessage } from '../../notifier/inbox/inbox.js';
import { FakeClock } from '../../platform/clock.js';
import { PermanentError } from '../../platform/resilience/errors.js';
import { InAppChannel } from './in-app-channel.js';

/** A map-backed repository with the port's once-per-key rule, enough to test the channel's own logic. */
class MapInbox implements Pick<InboxRepository, 'insert'> {
  readonly rows = new Map<string, InboxMessage>();
  constructor(private readonly known = new Set(['1:u'])) {}
  insert(m: NewInboxMessage): Promise<{ message: InboxMessage; created: boolean } | undefined> {
    if (!this.known.has(`${m.accountId}:${m.recipientId}`)) return Promise.resolve(undefined);
    const k = `${m.accountId}:${m.idempotencyKey}`;
    const old = this.rows.get(k);
    if (old) return Promise.resolve({ message: old, created: false });
    const message = { id: this.rows.size + 1, accountId: m.accountId, recipientId: m.recipientId, title: m.title, body: m.body, data: m.data, createdAt: m.now, readAt: null };
    this.rows.set(k, message);
    return Promise.resolve({ message, created: true });
  }
}

const signal = new AbortController().signal;
const inApp = { channel: 'in_app', accountId: 1, recipientId: 'u', title: 'Hi', body: 'there' } as const;

describe('InAppChannel', () => {
  it('stores once per idempotency key, publishes once, and answers the same id on repeat', async () => {
    const store = new MapInbox();
    const hub = new InboxHub();
    const clock = new FakeClock(5000);
    const published: InboxMessage[] = [];
    hub.subscribe(1, 'u', (m) => published.push(m));
    const channel = new InAppChannel(store as unknown as InboxRepository, hub, clock);
    const first = await channel.send(inApp, { idempotencyKey: 'd-1', signal });
    clock.advance(1000);
    const again = await channel.send(inApp, { idempotencyKey: 'd-1', signal });
    const other = await channel.send(inApp, { idempotencyKey: 'd-2', signal });
    expect(first).toEqual({ providerMessageId: 'inbox:1' });
    expect(again).toEqual(first);
    expect(other).toEqual({ providerMessageId: 'inbox:2' });
    expect(published.map((m) => [m.id, m.createdAt, m.data])).toEqual([
      [1, 5000, null],
      [2, 6000, null],
    ]);
  });

  it('fails permanently for an unknown recipient or another kind of message, and honours an aborted signal', async () => {
    const channel = new InAppChannel(new MapInbox() as unknown as InboxRepository, new InboxHub(), new FakeClock());
    await expect(channel.send({ ...inApp, recipientId: 'ghost' }, { idempotencyKey: 'k', signal })).rejects.toBeInstanceOf(PermanentError);
    await expect(channel.send({ channel: 'sms', to: '+15551234567', body: 'x' }, { idempotencyKey: 'k', signal })).rejects.toBeInstanceOf(PermanentError);
    const aborted = new AbortController();
    aborted.abort(new Error('deadline'));
    await expect(channel.send(inApp, { idempotencyKey: 'k', signal: aborted.signal })).rejects.toThrow('deadline');
  });
});

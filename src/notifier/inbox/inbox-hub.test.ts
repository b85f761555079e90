import { describe, expect, it } from 'vitest';
import type { InboxMessage } from './inbox.js';
import { InboxHub } from './inbox-hub.js';

const message = (accountId: number, recipientId: string, id: number): InboxMessage => ({
  id,
  accountId,
  recipientId,
  title: 't',
  body: 'b',
  data: null,
  createdAt: 0,
  readAt: null,
});

describe('InboxHub', () => {
  it('delivers to the subscribers of that account and recipient only', () => {
    const hub = new InboxHub();
    const got: string[] = [];
    hub.subscribe(1, 'u', (m) => got.push(`a:${m.id}`));
    hub.subscribe(1, 'u', (m) => got.push(`b:${m.id}`));
    hub.subscribe(2, 'u', (m) => got.push(`other-account:${m.id}`));
    hub.subscribe(1, 'v', (m) => got.push(`other-recipient:${m.id}`));
    hub.publish(message(1, 'u', 7));
    expect(got).toEqual(['a:7', 'b:7']);
  });

  it('bounds subscribers per recipient and frees a slot on unsubscribe', () => {
    const hub = new InboxHub(2);
    const listener = () => undefined;
    const first = hub.subscribe(1, 'u', listener);
    expect(hub.subscribe(1, 'u', listener)).not.toBe('full');
    expect(hub.subscribe(1, 'u', listener)).toBe('full');
    expect(hub.subscribe(1, 'v', listener)).not.toBe('full');
    expect(hub.subscriberCount(1, 'u')).toBe(2);
    if (first === 'full') throw new Error('unexpected');
    first.unsubscribe();
    first.unsubscribe();
    expect(hub.subscriberCount(1, 'u')).toBe(1);
    expect(hub.subscribe(1, 'u', listener)).not.toBe('full');
  });

  it('removes a listener that throws and keeps delivering to the others', () => {
    const hub = new InboxHub();
    const got: number[] = [];
    hub.subscribe(1, 'u', () => {
      throw new Error('broken socket');
    });
    hub.subscribe(1, 'u', (m) => got.push(m.id));
    hub.publish(message(1, 'u', 1));
    hub.publish(message(1, 'u', 2));
    expect(got).toEqual([1, 2]);
    expect(hub.subscriberCount(1, 'u')).toBe(1);
  });
});

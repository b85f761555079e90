import { expectMessage, type Channel, type OutgoingMessage, type SendContext, type SendResult } from '../../notifier/channels/channel.js';
import type { InboxHub } from '../../notifier/inbox/inbox-hub.js';
import type { InboxRepository } from '../../notifier/inbox/inbox.js';
import type { Clock } from '../../platform/clock.js';
import { PermanentError } from '../../platform/resilience/errors.js';

/**
 * The in-app channel: "sending" is storing the message in the recipient's inbox and telling
 * the live streams. The store is the source of truth and comes first; the publish is a hint
 * that can be missed (a stream that was not connected replays from the store by
 * Last-Event-ID). The delivery's idempotency key is unique per account in the store, so a
 * retried delivery (a lease that expired mid-send, a crash after the insert) stores nothing new,
 * publishes nothing again, and answers the same provider message id.
 */
export class InAppChannel implements Channel {
  readonly name = 'in_app' as const;

  constructor(
    private readonly inbox: InboxRepository,
    private readonly hub: InboxHub,
    private readonly clock: Clock,
  ) {}

  async send(message: OutgoingMessage, ctx: SendContext): Promise<SendResult> {
    const m = expectMessage(message, 'in_app');
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const stored = await this.inbox.insert({
      accountId: m.accountId,
      recipientId: m.recipientId,
      idempotencyKey: ctx.idempotencyKey,
      title: m.title,
      body: m.body,
      data: m.data ?? null,
      now: this.clock.now(),
    });
    if (!stored) throw new PermanentError(`recipient "${m.recipientId}" does not exist`);
    if (stored.created) this.hub.publish(stored.message);
    return { providerMessageId: `inbox:${stored.message.id}` };
  }
}

import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { InboxHub } from '../../notifier/inbox/inbox-hub.js';
import type { InboxMessage } from '../../notifier/inbox/inbox.js';

/**
 * The in-app live stream across processes: a message stored by any process (a worker
 * delivering in-app) reaches the SSE streams held by every process (the api processes).
 * `publish` fans out to this process's subscribers at once and PUBLISHes on one Redis channel;
 * every other process's subscriber connection receives it and fans it out to its own. A process
 * ignores its own messages coming back (each carries the publisher's random id).
 *
 * Redis pub/sub is at-most-once: a message published while a process is disconnected is not
 * replayed to it. Nothing is lost for the client: its stream reconnects with Last-Event-ID and
 * reads what it missed from the database (the inbox is the record; pub/sub only makes it live).
 */
export class RedisInboxHub extends InboxHub {
  private readonly origin = randomBytes(8).toString('hex');
  private readonly channel: string;
  readonly stats = { published: 0, received: 0, publishErrors: 0, malformed: 0 };

  private constructor(
    private readonly commands: Redis,
    private readonly subscriber: Redis,
    prefix: string,
    maxPerRecipient?: number,
  ) {
    super(maxPerRecipient);
    this.channel = `${prefix}inbox`;
  }

  /**
   * `subscriber` becomes a dedicated subscriber connection (ioredis cannot run commands on it
   * afterwards); it is closed by `close()`.
   */
  static async create(commands: Redis, subscriber: Redis, options: { prefix?: string; maxPerRecipient?: number } = {}): Promise<RedisInboxHub> {
    const hub = new RedisInboxHub(commands, subscriber, options.prefix ?? 'tny:', options.maxPerRecipient);
    subscriber.on('message', (channel: string, raw: string) => {
      if (channel === hub.channel) hub.receive(raw);
    });
    // A duplicate() of a lazyConnect connection without an offline queue must connect first.
    if (subscriber.status === 'wait') await subscriber.connect();
    await subscriber.subscribe(hub.channel);
    return hub;
  }

  override publish(message: InboxMessage): void {
    super.publish(message);
    this.stats.published += 1;
    this.commands.publish(this.channel, JSON.stringify({ o: this.origin, m: message })).catch(() => {
      this.stats.publishErrors += 1;
    });
  }

  private receive(raw: string): void {
    let parsed: { o?: unknown; m?: InboxMessage };
    try {
      parsed = JSON.parse(raw) as { o?: unknown; m?: InboxMessage };
    } catch {
      this.stats.malformed += 1;
      return;
    }
    if (parsed.o === this.origin || !parsed.m || typeof parsed.m.accountId !== 'number' || typeof parsed.m.recipientId !== 'string') return;
    this.stats.received += 1;
    super.publish(parsed.m);
  }

  async close(): Promise<void> {
    await this.subscriber.unsubscribe(this.channel).catch(() => undefined);
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }
}

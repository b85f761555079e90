import type { Channel, OutgoingMessage, SendContext, SendResult } from '../../notifier/channels/channel.js';

/**
 * Development channel: one line per message on an injected writer (stdout by default), so a
 * local install shows what would be sent without any provider. Accepts every message kind;
 * prints who and what, never secrets (a webhook's per-endpoint secret is left out) and only
 * the host of URLs (their paths and queries often carry tokens).
 */
export class ConsoleChannel implements Channel {
  readonly name = 'console' as const;

  constructor(private readonly write: (line: string) => void = (line) => void process.stdout.write(`${line}\n`)) {}

  send(message: OutgoingMessage, ctx: SendContext): Promise<SendResult> {
    if (ctx.signal.aborted) return Promise.reject(ctx.signal.reason);
    this.write(`[notify:${message.channel}] key=${ctx.idempotencyKey} ${describe(message)}`);
    return Promise.resolve({ providerMessageId: `console:${ctx.idempotencyKey}` });
  }
}

function host(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid url)';
  }
}

function describe(m: OutgoingMessage): string {
  const q = (s: string) => JSON.stringify(s);
  switch (m.channel) {
    case 'email':
      return `to=${m.to} subject=${q(m.subject)} text=${q(m.text)}`;
    case 'sms':
      return `to=${m.to} body=${q(m.body)}`;
    case 'web_push':
      return `endpoint=${host(m.subscription.endpoint)} payload=${JSON.stringify(m.payload)}`;
    case 'fcm':
      return `token=${m.token.slice(0, 8)}… title=${q(m.title)} body=${q(m.body)}`;
    case 'apns':
      return `device=${m.deviceToken.slice(0, 8)}… title=${q(m.title)} body=${q(m.body)}`;
    case 'webhook':
      return `url=${host(m.url)} type=${m.type} data=${JSON.stringify(m.data)}`;
    case 'in_app':
    case 'console':
      return `recipient=${m.recipientId} title=${q(m.title)} body=${q(m.body)}`;
  }
}

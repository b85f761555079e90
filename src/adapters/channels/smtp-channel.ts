import { createHash } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { PermanentError, RetryableError } from '../../platform/resilience/errors.js';
import { expectMessage, type Channel, type OutgoingMessage, type SendContext, type SendResult } from '../../notifier/channels/channel.js';
import { InvalidContactError, transportFailure } from '../../notifier/channels/errors.js';

export interface SmtpChannelOptions {
  host: string;
  port: number;
  /** Implicit TLS (port 465). Otherwise STARTTLS is used when the server offers it. */
  secure: boolean;
  /** Refuse to send without STARTTLS (set it for any server off the machine). */
  requireTls?: boolean;
  user?: string;
  password?: string;
  from: string;
  /** Right-hand side of Message-IDs; defaults to the domain of `from`. */
  messageIdDomain?: string;
  /** Socket-level limits, so a silent server cannot hold a worker beyond the caller's timeout. */
  connectionTimeoutMs?: number;
  /** Test servers with self-signed certificates. */
  tlsRejectUnauthorized?: boolean;
}

const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/;

/**
 * The Message-ID for a delivery: `<key@domain>`, the same on every retry, so a receiving
 * system (and a human reading headers) can see two copies are one message. Keys that are not
 * a valid dot-atom (RFC 5322) are replaced by a hash of themselves, still deterministic.
 */
export function messageIdFor(idempotencyKey: string, domain: string): string {
  const left = ATEXT.test(idempotencyKey) && idempotencyKey.length <= 200
    ? idempotencyKey
    : `h.${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 40)}`;
  return `<${left}@${domain}>`;
}

/** Maps nodemailer's failure to tny's vocabulary: 4xx replies retry, 5xx do not. */
export function classifySmtpError(err: unknown, signal: AbortSignal): Error {
  const e = (err ?? {}) as { responseCode?: unknown; code?: unknown; response?: unknown };
  const reply = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  if (reply === undefined) return transportFailure('The SMTP server', err, signal);
  const code = typeof e.code === 'string' ? e.code : '';
  if (reply >= 400 && reply < 500) return new RetryableError(`The SMTP server deferred the message (${reply}).`, { cause: err });
  // 550/551/553 to RCPT: no such mailbox, not local, bad address syntax. The recipient is bad.
  if (code === 'EENVELOPE' && (reply === 550 || reply === 551 || reply === 553 || reply === 501)) {
    return new InvalidContactError(`The SMTP server refused the recipient (${reply}).`, String(reply), { cause: err });
  }
  return new PermanentError(`The SMTP server refused the message (${reply}${code ? ` ${code}` : ''}).`, { cause: err });
}

/**
 * Email over SMTP with nodemailer, one pooled transport. nodemailer has no cancellation, so on
 * abort the send is abandoned (the promise rejects with the signal's reason) and the socket
 * limits end the exchange; the Message-ID makes a copy sent by a retry recognisable.
 */
export class SmtpChannel implements Channel {
  readonly name = 'email' as const;
  private readonly transport: Transporter<SMTPTransport.SentMessageInfo>;
  private readonly domain: string;

  constructor(private readonly options: SmtpChannelOptions) {
    const timeout = options.connectionTimeoutMs ?? 30_000;
    this.transport = nodemailer.createTransport({
      host: options.host,
      port: options.port,
      secure: options.secure,
      requireTLS: options.requireTls ?? false,
      auth: options.user ? { user: options.user, pass: options.password ?? '' } : undefined,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      tls: { rejectUnauthorized: options.tlsRejectUnauthorized ?? true },
      pool: true,
      maxConnections: 5,
      logger: false,
    });
    this.domain = options.messageIdDomain ?? options.from.replace(/^.*@/, '').replace(/>.*$/, '');
  }

  async send(message: OutgoingMessage, ctx: SendContext): Promise<SendResult> {
    const msg = expectMessage(message, 'email');
    if (ctx.signal.aborted) throw transportFailure('The SMTP server', undefined, ctx.signal);
    const messageId = messageIdFor(ctx.idempotencyKey, this.domain);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(transportFailure('The SMTP server', undefined, ctx.signal));
      ctx.signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const info = await Promise.race([
        this.transport.sendMail({
          from: msg.from ?? this.options.from,
          to: msg.to,
          subject: msg.subject,
          text: msg.text,
          html: msg.html,
          messageId,
        }),
        aborted,
      ]);
      return { providerMessageId: info.messageId };
    } catch (err) {
      throw classifySmtpError(err, ctx.signal);
    } finally {
      if (onAbort) ctx.signal.removeEventListener('abort', onAbort);
    }
  }

  close(): Promise<void> {
    this.transport.close();
    return Promise.resolve();
  }
}

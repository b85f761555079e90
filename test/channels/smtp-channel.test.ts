import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageIdFor, SmtpChannel } from '../../src/adapters/channels/smtp-channel.js';
import { isInvalidContact } from '../../src/notifier/channels/errors.js';
import { PermanentError, RetryableError, TimeoutError } from '../../src/platform/resilience/errors.js';

interface Received {
  from: string;
  to: string[];
  raw: string;
}

/** A real SMTP server (smtp-server) that records what it accepts and rejects scripted addresses. */
async function startSmtp() {
  const received: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, cb) {
      if (address.address.startsWith('nobody@')) {
        return cb(Object.assign(new Error('5.1.1 No such user'), { responseCode: 550 }));
      }
      if (address.address.startsWith('greylist@')) {
        return cb(Object.assign(new Error('4.7.1 Try again later'), { responseCode: 451 }));
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        if (raw.includes('Subject: too big')) return cb(Object.assign(new Error('5.3.4 Message too big'), { responseCode: 552 }));
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { received, port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const ctx = (key: string) => ({ idempotencyKey: key, signal: new AbortController().signal });
const header = (raw: string, name: string) => new RegExp(`^${name}: (.*)$`, 'mi').exec(raw)?.[1]?.trim();

describe('SmtpChannel against a local SMTP server', () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let channel: SmtpChannel;

  beforeAll(async () => {
    smtp = await startSmtp();
    channel = new SmtpChannel({ host: '127.0.0.1', port: smtp.port, secure: false, from: 'tny <noreply@notify.example>', connectionTimeoutMs: 2000 });
  });
  afterAll(async () => {
    await channel.close();
    await smtp.close();
  });

  it('delivers subject, text, html and a Message-ID derived from the idempotency key, the same on a retry', async () => {
    const email = { channel: 'email' as const, to: 'ada@example.org', subject: 'Your code', text: 'Code: 123456', html: '<p>Code: <b>123456</b></p>' };
    const first = await channel.send(email, ctx('dlv_abc.1'));
    await channel.send(email, ctx('dlv_abc.1'));
    expect(first.providerMessageId).toBe('<dlv_abc.1@notify.example>');
    expect(smtp.received).toHaveLength(2);
    const [a, b] = smtp.received;
    expect(a!.from).toBe('noreply@notify.example');
    expect(a!.to).toEqual(['ada@example.org']);
    expect(header(a!.raw, 'Message-ID')).toBe('<dlv_abc.1@notify.example>');
    expect(header(b!.raw, 'Message-ID')).toBe('<dlv_abc.1@notify.example>');
    expect(header(a!.raw, 'Subject')).toBe('Your code');
    expect(header(a!.raw, 'To')).toBe('ada@example.org');
    expect(a!.raw).toContain('Code: 123456');
    expect(a!.raw).toContain('<b>123456</b>');
  });

  it('550 on RCPT is an invalid contact; 451 is retryable; 552 on DATA is permanent', async () => {
    const base = { channel: 'email' as const, subject: 's', text: 't' };
    const unknown = await channel.send({ ...base, to: 'nobody@example.org' }, ctx('k1')).catch((e: unknown) => e);
    expect(isInvalidContact(unknown)).toBe(true);
    const later = await channel.send({ ...base, to: 'greylist@example.org' }, ctx('k2')).catch((e: unknown) => e);
    expect(later).toBeInstanceOf(RetryableError);
    const big = await channel.send({ ...base, to: 'ada@example.org', subject: 'too big' }, ctx('k3')).catch((e: unknown) => e);
    expect(big).toBeInstanceOf(PermanentError);
    expect(isInvalidContact(big)).toBe(false);
  });

  it('a refused connection is retryable; an aborted call rejects with the signal reason', async () => {
    const closed = new SmtpChannel({ host: '127.0.0.1', port: 1, secure: false, from: 'a@b.example', connectionTimeoutMs: 1000 });
    const err = await closed.send({ channel: 'email', to: 'x@y.example', subject: 's', text: 't' }, ctx('k')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    const ac = new AbortController();
    const pending = channel.send({ channel: 'email', to: 'ada@example.org', subject: 's', text: 't' }, { idempotencyKey: 'k4', signal: ac.signal });
    ac.abort(new TimeoutError(1));
    await expect(pending).rejects.toBeInstanceOf(TimeoutError);
    await closed.close();
  });
});

describe('messageIdFor', () => {
  it('keeps dot-atom keys and hashes the rest, deterministically', () => {
    expect(messageIdFor('dlv_1', 'x.example')).toBe('<dlv_1@x.example>');
    const odd = messageIdFor('a b<c>@d', 'x.example');
    expect(odd).toMatch(/^<h\.[0-9a-f]{40}@x\.example>$/);
    expect(messageIdFor('a b<c>@d', 'x.example')).toBe(odd);
    expect(messageIdFor('a..b', 'x.example')).not.toBe('<a..b@x.example>');
  });
});

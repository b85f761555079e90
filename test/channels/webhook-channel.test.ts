import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebhookChannel } from '../../src/adapters/channels/webhook-channel.js';
import { isInvalidContact } from '../../src/notifier/channels/errors.js';
import { AddressRefusedError, SsrfGuard } from '../../src/notifier/channels/ssrf-guard.js';
import { verifyWebhookSignature } from '../../src/notifier/channels/webhook-signature.js';
import { FakeClock } from '../../src/platform/clock.js';
import { PermanentError, RetryableError, TimeoutError } from '../../src/platform/resilience/errors.js';
import { startRecordingServer, type RecordingServer } from './recording-server.js';

const SECRET = `whsec_${Buffer.from('webhook-test-secret').toString('base64')}`;
const ctx = (key = 'dlv_1') => ({ idempotencyKey: key, signal: new AbortController().signal });

describe('WebhookChannel against a local receiver', () => {
  let receiver: RecordingServer;
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 12));
  const channel = new WebhookChannel({ secret: SECRET, clock, guard: new SsrfGuard({ allowedNetworks: ['127.0.0.0/8'] }) });
  const msg = () => ({ channel: 'webhook' as const, url: `${receiver.url}/hooks`, type: 'notification.security', data: { text: 'hi' } });

  beforeAll(async () => {
    receiver = await startRecordingServer();
  });
  afterEach(() => {
    receiver.requests.length = 0;
    receiver.replies.length = 0;
  });
  afterAll(async () => {
    await channel.close();
    await receiver.close();
  });

  it('POSTs signed JSON the receiver can verify; webhook-id is the idempotency key on every retry', async () => {
    await expect(channel.send(msg(), ctx('dlv_42'))).resolves.toEqual({ providerMessageId: 'dlv_42' });
    clock.advance(60_000);
    await channel.send(msg(), ctx('dlv_42'));
    expect(receiver.requests).toHaveLength(2);
    const [first, second] = receiver.requests;
    expect(first!.path).toBe('/hooks');
    expect(first!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(first!.body.toString())).toEqual({ type: 'notification.security', timestamp: '2026-01-01T12:00:00.000Z', data: { text: 'hi' } });
    expect(verifyWebhookSignature(first!.headers, first!.body, SECRET, 300, clock.now() - 60_000)).toMatchObject({ ok: true, id: 'dlv_42' });
    expect(verifyWebhookSignature(second!.headers, second!.body, SECRET, 300, clock.now())).toMatchObject({ ok: true, id: 'dlv_42' });
    expect(second!.headers['webhook-timestamp']).toBe(String(clock.now() / 1000));
    expect(verifyWebhookSignature(first!.headers, first!.body, 'whsec_b3RoZXI=', 300, clock.now()).ok).toBe(false);
  });

  it.each([
    [{ status: 503, headers: { 'retry-after': '7' } }, RetryableError, 7000],
    [{ status: 429, headers: { 'retry-after': '2' } }, RetryableError, 2000],
    [{ status: 500 }, RetryableError, undefined],
    [{ status: 408 }, RetryableError, undefined],
    [{ status: 400 }, PermanentError, undefined],
    [{ status: 302, headers: { location: 'http://169.254.169.254/' } }, PermanentError, undefined],
  ])('classifies %o', async (reply, type, retryAfterMs) => {
    receiver.replies.push(reply);
    const err = await channel.send(msg(), ctx()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(type);
    expect(isInvalidContact(err)).toBe(false);
    expect((err as { retryAfterMs?: number }).retryAfterMs).toBe(retryAfterMs);
    expect(receiver.requests).toHaveLength(1);
  });

  it('410 Gone marks the contact invalid', async () => {
    receiver.replies.push({ status: 410 });
    const err = await channel.send(msg(), ctx()).catch((e: unknown) => e);
    expect(isInvalidContact(err)).toBe(true);
  });

  it('a caller abort (the timeout policy) surfaces as its reason, and nothing is sent', async () => {
    const ac = new AbortController();
    ac.abort(new TimeoutError(5));
    const err = await channel.send(msg(), { idempotencyKey: 'k', signal: ac.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(receiver.requests).toHaveLength(0);
  });

  it('without the loopback allowance, refuses before sending: by literal and by a name resolving to loopback', async () => {
    const strict = new WebhookChannel({
      secret: SECRET,
      clock,
      guard: new SsrfGuard({ resolve: async () => [{ address: '127.0.0.1', family: 4 }] }),
    });
    const literal = await strict.send(msg(), ctx()).catch((e: unknown) => e);
    expect(literal).toBeInstanceOf(AddressRefusedError);
    const port = new URL(receiver.url).port;
    const named = await strict.send({ ...msg(), url: `http://hooks.example.test:${port}/` }, ctx()).catch((e: unknown) => e);
    expect(named).toBeInstanceOf(AddressRefusedError);
    expect(isInvalidContact(named)).toBe(true);
    expect(receiver.requests).toHaveLength(0);
    await strict.close();
  });

  it('refuses a message without a secret or with a non-URL', async () => {
    const unsigned = new WebhookChannel({ secret: undefined, guard: new SsrfGuard({ allowedNetworks: ['127.0.0.0/8'] }) });
    await expect(unsigned.send(msg(), ctx())).rejects.toThrow(/secret/);
    await expect(channel.send({ ...msg(), url: 'not a url' }, ctx())).rejects.toSatisfy(isInvalidContact);
    await expect(channel.send({ channel: 'sms', to: '+1', body: 'x' }, ctx())).rejects.toBeInstanceOf(PermanentError);
    await unsigned.close();
  });
});

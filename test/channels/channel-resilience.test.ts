import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebhookChannel } from '../../src/adapters/channels/webhook-channel.js';
import { isInvalidContact } from '../../src/notifier/channels/errors.js';
import { SsrfGuard } from '../../src/notifier/channels/ssrf-guard.js';
import { exponentialBackoff } from '../../src/platform/resilience/backoff.js';
import { TimeoutError } from '../../src/platform/resilience/errors.js';
import { retry } from '../../src/platform/resilience/retry.js';
import { timeout } from '../../src/platform/resilience/timeout.js';
import { wrap } from '../../src/platform/resilience/wrap.js';
import { startRecordingServer, type RecordingServer } from './recording-server.js';

/**
 * The channels under the platform's policies, as the notifier's worker will run them: retry
 * outside, a per-attempt timeout inside. What the adapter classifies decides what is retried.
 */
describe('a channel under retry + timeout', () => {
  let receiver: RecordingServer;
  const channel = new WebhookChannel({ secret: 'whsec_c2VjcmV0', guard: new SsrfGuard({ allowedNetworks: ['127.0.0.0/8'] }) });
  const policy = wrap(retry({ maxAttempts: 4, backoff: exponentialBackoff({ baseMs: 10, capMs: 20 }) }), timeout(150));
  const send = (key: string) =>
    policy.execute(({ signal }) =>
      channel.send({ channel: 'webhook', url: `${receiver.url}/h`, type: 't', data: {} }, { idempotencyKey: key, signal }),
    );

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

  it('a hung attempt times out, a 503 waits for its Retry-After, then it is delivered; one webhook-id throughout', async () => {
    receiver.replies.push({ status: 0 }, { status: 503, headers: { 'retry-after': '1' } }, { status: 204 });
    const started = performance.now();
    await expect(send('dlv_r1')).resolves.toEqual({ providerMessageId: 'dlv_r1' });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(150 + 1000 - 20);
    expect(receiver.requests.map((r) => r.headers['webhook-id'])).toEqual(['dlv_r1', 'dlv_r1', 'dlv_r1']);
  });

  it('an invalid contact is not retried', async () => {
    receiver.replies.push({ status: 410 });
    await expect(send('dlv_r2')).rejects.toSatisfy(isInvalidContact);
    expect(receiver.requests).toHaveLength(1);
  });

  it('a receiver that never answers ends in TimeoutError after every attempt', async () => {
    receiver.fallback = () => ({ status: 0 });
    try {
      await expect(send('dlv_r3')).rejects.toBeInstanceOf(TimeoutError);
      expect(receiver.requests).toHaveLength(4);
    } finally {
      receiver.fallback = () => ({ status: 200 });
    }
  });
});

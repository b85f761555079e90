import { createECDH, createPublicKey, randomBytes, verify } from 'node:crypto';
import { createRequire } from 'node:module';
import webpush from 'web-push';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { topicFor, WebPushChannel } from '../../src/adapters/channels/web-push-channel.js';
import { isInvalidContact } from '../../src/notifier/channels/errors.js';
import { AddressRefusedError, SsrfGuard } from '../../src/notifier/channels/ssrf-guard.js';
import { PermanentError, RetryableError } from '../../src/platform/resilience/errors.js';
import { startRecordingServer, type RecordingServer } from './recording-server.js';

// http_ece is web-push's own encryption library; the test plays the browser with it.
const ece = createRequire(import.meta.url)('http_ece') as {
  decrypt(body: Buffer, params: { version: string; privateKey: unknown; authSecret: string }): Buffer;
};

const vapid = { subject: 'mailto:ops@notify.example', ...webpush.generateVAPIDKeys() };
const browser = createECDH('prime256v1');
browser.generateKeys();
const auth = randomBytes(16).toString('base64url');
const ctx = (key = 'dlv_1') => ({ idempotencyKey: key, signal: new AbortController().signal });

function vapidPublicKey() {
  const raw = Buffer.from(vapid.publicKey, 'base64url');
  return createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33, 65).toString('base64url') },
    format: 'jwk',
  });
}

describe('WebPushChannel against a local push service', () => {
  let push: RecordingServer;
  const channel = new WebPushChannel({ vapid, guard: new SsrfGuard({ allowedNetworks: ['127.0.0.0/8'] }) });
  const msg = (path = '/push/sub-1') => ({
    channel: 'web_push' as const,
    subscription: { endpoint: `${push.url}${path}`, keys: { p256dh: browser.getPublicKey().toString('base64url'), auth } },
    payload: { title: 'Hello', body: 'World' },
    ttlSeconds: 600,
  });

  beforeAll(async () => {
    push = await startRecordingServer(() => ({ status: 201, headers: { location: `/m/1` } }));
  });
  afterEach(() => {
    push.requests.length = 0;
    push.replies.length = 0;
  });
  afterAll(async () => {
    await channel.close();
    await push.close();
  });

  it('sends a VAPID-signed request whose aes128gcm payload the browser can decrypt', async () => {
    await expect(channel.send(msg(), ctx('dlv_7'))).resolves.toEqual({ providerMessageId: '/m/1' });
    const [req] = push.requests;
    expect(req!.method).toBe('POST');
    expect(req!.path).toBe('/push/sub-1');
    expect(req!.headers['content-encoding']).toBe('aes128gcm');
    expect(req!.headers.ttl).toBe('600');
    expect(req!.headers.urgency).toBe('normal');
    expect(req!.headers.topic).toBe(topicFor('dlv_7'));

    const m = /^vapid t=([^,]+), k=(.+)$/.exec(String(req!.headers.authorization));
    expect(m).not.toBeNull();
    expect(m![2]).toBe(vapid.publicKey);
    const [h, p, s] = m![1]!.split('.');
    const ok = verify('sha256', Buffer.from(`${h}.${p}`), { key: vapidPublicKey(), dsaEncoding: 'ieee-p1363' }, Buffer.from(s!, 'base64url'));
    expect(ok).toBe(true);
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as { aud: string; sub: string; exp: number };
    expect(claims.aud).toBe(push.url);
    expect(claims.sub).toBe(vapid.subject);

    const plain = ece.decrypt(req!.body, { version: 'aes128gcm', privateKey: browser, authSecret: auth });
    expect(JSON.parse(plain.toString())).toEqual({ title: 'Hello', body: 'World' });
  });

  it.each([404, 410])('%i from the push service marks the subscription invalid', async (status) => {
    push.replies.push({ status });
    const err = await channel.send(msg(), ctx()).catch((e: unknown) => e);
    expect(isInvalidContact(err)).toBe(true);
  });

  it('429 with Retry-After and 503 retry; 400 and 413 are permanent', async () => {
    push.replies.push({ status: 429, headers: { 'retry-after': '30' } }, { status: 503 }, { status: 400 }, { status: 413 });
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await channel.send(msg(), ctx()).catch((e: unknown) => e));
    expect(results[0]).toBeInstanceOf(RetryableError);
    expect((results[0] as RetryableError).retryAfterMs).toBe(30_000);
    expect(results[1]).toBeInstanceOf(RetryableError);
    expect(results[2]).toBeInstanceOf(PermanentError);
    expect(results[3]).toBeInstanceOf(PermanentError);
    expect(isInvalidContact(results[3])).toBe(false);
  });

  it('a malformed subscription is an invalid contact; a loopback endpoint is refused without the allowance', async () => {
    const bad = { ...msg(), subscription: { endpoint: `${push.url}/x`, keys: { p256dh: 'short', auth } } };
    await expect(channel.send(bad, ctx())).rejects.toSatisfy(isInvalidContact);
    const strict = new WebPushChannel({ vapid, guard: new SsrfGuard() });
    await expect(strict.send(msg(), ctx())).rejects.toBeInstanceOf(AddressRefusedError);
    expect(push.requests).toHaveLength(0);
    await strict.close();
  });
});

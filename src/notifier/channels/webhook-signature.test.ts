import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhookSignature } from './webhook-signature.js';

const SECRET = `whsec_${Buffer.from('test-secret-0123456789').toString('base64')}`;
const NOW = Date.UTC(2026, 0, 1, 12);
const body = JSON.stringify({ type: 'notification.security', data: { a: 1 } });

describe('webhook signatures (Standard Webhooks)', () => {
  it('signs id.timestamp.body with HMAC-SHA256 of the decoded whsec_ secret, base64, v1 prefix', () => {
    const h = signWebhook(SECRET, 'msg_1', NOW / 1000, body);
    const expected = createHmac('sha256', Buffer.from('test-secret-0123456789'))
      .update(`msg_1.${NOW / 1000}.${body}`)
      .digest('base64');
    expect(h).toEqual({ 'webhook-id': 'msg_1', 'webhook-timestamp': String(NOW / 1000), 'webhook-signature': `v1,${expected}` });
  });

  it('reproduces the Standard Webhooks specification test vector (interoperable with its libraries)', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const h = signWebhook(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    expect(h['webhook-signature']).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    expect(verifyWebhookSignature(h, '{"test": 2432232314}', secret, 300, 1614265330_000 + 10_000).ok).toBe(true);
  });

  it('verifies its own signature, with any header casing and a Buffer body', () => {
    const h = signWebhook(SECRET, 'msg_1', NOW / 1000, body);
    const upper = { 'Webhook-Id': h['webhook-id'], 'WEBHOOK-TIMESTAMP': h['webhook-timestamp'], 'webhook-signature': h['webhook-signature'] };
    expect(verifyWebhookSignature(upper, Buffer.from(body), SECRET, 300, NOW)).toEqual({ ok: true, id: 'msg_1', timestampS: NOW / 1000 });
    expect(verifyWebhookSignature(new Headers({ ...h }), body, SECRET, 300, NOW).ok).toBe(true);
  });

  it('accepts when one of several space-separated signatures matches (secret rotation)', () => {
    const h = signWebhook(SECRET, 'msg_1', NOW / 1000, body);
    const other = signWebhook('whsec_b2xk', 'msg_1', NOW / 1000, body)['webhook-signature'];
    const both = { ...h, 'webhook-signature': `${other} v2,zzz ${h['webhook-signature']}` };
    expect(verifyWebhookSignature(both, body, SECRET, 300, NOW).ok).toBe(true);
  });

  it.each([
    ['a tampered body', (h: Record<string, string>) => ({ h, b: body.replace('1', '2'), s: SECRET }), 'bad-signature'],
    ['a tampered id', (h: Record<string, string>) => ({ h: { ...h, 'webhook-id': 'msg_2' }, b: body, s: SECRET }), 'bad-signature'],
    ['a wrong secret', (h: Record<string, string>) => ({ h, b: body, s: 'whsec_d3Jvbmc=' }), 'bad-signature'],
    ['a moved timestamp', (h: Record<string, string>) => ({ h: { ...h, 'webhook-timestamp': String(NOW / 1000 - 1) }, b: body, s: SECRET }), 'bad-signature'],
    ['a missing signature', (h: Record<string, string>) => ({ h: { ...h, 'webhook-signature': '' }, b: body, s: SECRET }), 'missing-headers'],
    ['a non-numeric timestamp', (h: Record<string, string>) => ({ h: { ...h, 'webhook-timestamp': '1e9' }, b: body, s: SECRET }), 'bad-timestamp'],
  ])('refuses %s', (_name, mutate, reason) => {
    const h = signWebhook(SECRET, 'msg_1', NOW / 1000, body) as unknown as Record<string, string>;
    const { h: headers, b, s } = mutate(h);
    expect(verifyWebhookSignature(headers, b, s, 300, NOW)).toEqual({ ok: false, reason });
  });

  it('refuses a correctly signed request older than the tolerance, or too far in the future', () => {
    const old = signWebhook(SECRET, 'msg_1', NOW / 1000 - 301, body);
    expect(verifyWebhookSignature(old, body, SECRET, 300, NOW)).toEqual({ ok: false, reason: 'timestamp-too-old' });
    expect(verifyWebhookSignature(old, body, SECRET, 301, NOW).ok).toBe(true);
    const future = signWebhook(SECRET, 'msg_1', NOW / 1000 + 301, body);
    expect(verifyWebhookSignature(future, body, SECRET, 300, NOW)).toEqual({ ok: false, reason: 'timestamp-in-future' });
  });
});

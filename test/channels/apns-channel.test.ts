import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createSecureServer, createServer, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApnsChannel } from '../../src/adapters/channels/apns-channel.js';
import { uuidFromKey } from '../../src/adapters/channels/apns-provider-token.js';
import { isInvalidContact } from '../../src/notifier/channels/errors.js';
import { FakeClock } from '../../src/platform/clock.js';
import { PermanentError, RetryableError, TimeoutError } from '../../src/platform/resilience/errors.js';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const TOKEN_OK = 'a'.repeat(64);

interface Seen {
  headers: IncomingHttpHeaders;
  body: string;
}

/** Plays APNs: checks the ES256 provider token, answers per device token like Apple does. */
function apnsHandler(seen: Seen[], expiredJwts: Set<string>) {
  return (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      seen.push({ headers, body: Buffer.concat(chunks).toString() });
      const jwt = String(headers.authorization).replace('bearer ', '');
      const [h, p, s] = jwt.split('.');
      const good = verify('sha256', Buffer.from(`${h}.${p}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(s ?? '', 'base64url'));
      const answer = (status: number, reason?: string, extra: Record<string, string> = {}) => {
        stream.respond({ ':status': status, 'apns-id': String(headers['apns-id']), ...extra });
        stream.end(reason ? JSON.stringify({ reason }) : '');
      };
      if (!good) return answer(403, 'InvalidProviderToken');
      if (expiredJwts.has(jwt)) return answer(403, 'ExpiredProviderToken');
      const device = String(headers[':path']).split('/').pop();
      if (device === 'b'.repeat(64)) return answer(400, 'BadDeviceToken');
      if (device === 'c'.repeat(64)) return answer(410, 'Unregistered');
      if (device === 'd'.repeat(64)) return answer(429, 'TooManyRequests', { 'retry-after': '3' });
      if (device === 'e'.repeat(64)) return answer(503, 'ServiceUnavailable');
      if (device === 'f'.repeat(64)) return answer(413, 'PayloadTooLarge');
      if (device === '0'.repeat(64)) return; // never answers
      answer(200);
    });
  };
}

function listen(server: Http2Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

describe('ApnsChannel against a local HTTP/2 server (h2c)', () => {
  const seen: Seen[] = [];
  const expired = new Set<string>();
  const server = createServer();
  server.on('stream', apnsHandler(seen, expired));
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 12));
  let channel: ApnsChannel;
  const ctx = (key = 'dlv_5') => ({ idempotencyKey: key, signal: new AbortController().signal });
  const msg = (deviceToken = TOKEN_OK) => ({ channel: 'apns' as const, deviceToken, title: 'Hi', body: 'There', data: { link: '/x' } });

  beforeAll(async () => {
    const port = await listen(server);
    channel = new ApnsChannel({ privateKey: PEM, keyId: 'KEY123', teamId: 'TEAM42', topic: 'com.example.app', endpoint: `http://127.0.0.1:${port}`, clock });
  });
  beforeEach(() => {
    seen.length = 0;
  });
  afterAll(async () => {
    await channel.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('POSTs /3/device/<token> with a valid ES256 token, topic, push type and an apns-id derived from the key', async () => {
    const result = await channel.send(msg(), ctx('dlv_5'));
    expect(result.providerMessageId).toBe(uuidFromKey('dlv_5'));
    const [req] = seen;
    expect(req!.headers[':path']).toBe(`/3/device/${TOKEN_OK}`);
    expect(req!.headers['apns-topic']).toBe('com.example.app');
    expect(req!.headers['apns-push-type']).toBe('alert');
    expect(req!.headers['apns-priority']).toBe('10');
    expect(req!.headers['apns-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(req!.headers['apns-id']).toBe(uuidFromKey('dlv_5'));
    expect(uuidFromKey('dlv_6')).not.toBe(uuidFromKey('dlv_5'));
    expect(JSON.parse(req!.body)).toEqual({ link: '/x', aps: { alert: { title: 'Hi', body: 'There' } } });
    const [h, p] = String(req!.headers.authorization).replace('bearer ', '').split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({ alg: 'ES256', typ: 'JWT', kid: 'KEY123' });
    expect(JSON.parse(Buffer.from(p!, 'base64url').toString())).toEqual({ iss: 'TEAM42', iat: clock.now() / 1000 });
  });

  it('reuses the provider token for 50 minutes, then signs a new one; ExpiredProviderToken forces a new one', async () => {
    await channel.send(msg(), ctx());
    clock.advance(49 * 60_000);
    await channel.send(msg(), ctx());
    clock.advance(60_000);
    await channel.send(msg(), ctx());
    const jwts = seen.map((s) => s.headers.authorization);
    expect(jwts[0]).toBe(jwts[1]);
    expect(jwts[2]).not.toBe(jwts[1]);

    expired.add(String(jwts[2]).replace('bearer ', ''));
    await expect(channel.send(msg(), ctx())).rejects.toBeInstanceOf(RetryableError);
    clock.advance(1000);
    await expect(channel.send(msg(), ctx())).resolves.toBeDefined();
    expect(seen.at(-1)!.headers.authorization).not.toBe(jwts[2]);
  });

  it('classifies APNs answers, with several requests in flight on one session', async () => {
    const outcomes = await Promise.all(['b', 'c', 'd', 'e', 'f', '1'].map((ch) => channel.send(msg(ch.repeat(64)), ctx()).catch((e: unknown) => e)));
    const [bad, gone, many, down, large, ok] = outcomes;
    expect(isInvalidContact(bad)).toBe(true);
    expect(isInvalidContact(gone)).toBe(true);
    expect(many).toBeInstanceOf(RetryableError);
    expect((many as RetryableError).retryAfterMs).toBe(3000);
    expect(down).toBeInstanceOf(RetryableError);
    expect(large).toBeInstanceOf(PermanentError);
    expect(isInvalidContact(large)).toBe(false);
    expect(ok).toEqual({ providerMessageId: expect.any(String) });
    await expect(channel.send(msg('not-hex'), ctx())).rejects.toSatisfy(isInvalidContact);
  });

  it('an abort cancels the stream and rejects with the signal reason; the session stays usable', async () => {
    const ac = new AbortController();
    const pending = channel.send(msg('0'.repeat(64)), { idempotencyKey: 'k', signal: ac.signal });
    setTimeout(() => ac.abort(new TimeoutError(20)), 20);
    await expect(pending).rejects.toBeInstanceOf(TimeoutError);
    await expect(channel.send(msg(), ctx())).resolves.toBeDefined();
  });

  it('a server that is not there is a retryable failure', async () => {
    const nowhere = new ApnsChannel({ privateKey: PEM, keyId: 'K', teamId: 'T', topic: 't', endpoint: 'http://127.0.0.1:1', clock });
    await expect(nowhere.send(msg(), ctx())).rejects.toBeInstanceOf(RetryableError);
    await nowhere.close();
  });
});

describe('ApnsChannel over TLS with a certificate made for the test', () => {
  it('delivers through a self-signed HTTPS/2 server it is told to trust', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tny-apns-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
      const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
      const seen: Seen[] = [];
      const server = createSecureServer({ key: readFileSync(join(dir, 'key.pem')), cert });
      server.on('stream', apnsHandler(seen, new Set()));
      const port = await listen(server as unknown as Http2Server);
      const clock = new FakeClock();
      const opts = { privateKey: PEM, keyId: 'K', teamId: 'T', topic: 'com.example.app', endpoint: `https://localhost:${port}`, clock };
      const untrusting = new ApnsChannel(opts);
      await expect(untrusting.send({ channel: 'apns', deviceToken: TOKEN_OK, title: 't', body: 'b' }, { idempotencyKey: 'k', signal: new AbortController().signal }))
        .rejects.toBeInstanceOf(RetryableError);
      const trusting = new ApnsChannel({ ...opts, ca: cert });
      await trusting.send({ channel: 'apns', deviceToken: TOKEN_OK, title: 't', body: 'b' }, { idempotencyKey: 'k', signal: new AbortController().signal });
      expect(seen).toHaveLength(1);
      await untrusting.close();
      await trusting.close();
      await new Promise<void>((r) => server.close(() => r()));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { generateKeyPairSync, verify } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FcmChannel } from '../../src/adapters/channels/fcm-channel.js';
import { FCM_SCOPE } from '../../src/adapters/channels/google-access-token.js';
import { isInvalidContact } from '../../src/notifier/channels/errors.js';
import { FakeClock } from '../../src/platform/clock.js';
import { PermanentError, RetryableError } from '../../src/platform/resilience/errors.js';
import { startRecordingServer, type Recorded, type RecordingServer, type Reply } from './recording-server.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const clock = new FakeClock(Date.UTC(2026, 0, 1, 12));
const fcmError = (status: number, code: string, errorCode?: string): Reply => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    error: {
      code: status,
      status: code,
      message: 'x',
      details: errorCode ? [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }] : [],
    },
  }),
});

/** Plays Google's token endpoint (checks the RS256 assertion) and FCM's send endpoint. */
function fakeGoogle(server: () => RecordingServer, state: { issued: number; revoked: Set<string> }) {
  return (req: Recorded): Reply => {
    if (req.path === '/token') {
      const form = new URLSearchParams(req.body.toString());
      const [h, p, s] = (form.get('assertion') ?? '').split('.');
      const good = verify('sha256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s ?? '', 'base64url'));
      const claims = JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) as Record<string, unknown>;
      if (!good || form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer' || claims.aud !== `${server().url}/token`
        || claims.scope !== FCM_SCOPE || claims.iss !== 'tny@proj.iam.gserviceaccount.com') {
        return { status: 400, body: '{"error":"invalid_grant"}' };
      }
      state.issued += 1;
      return { status: 200, body: JSON.stringify({ access_token: `ya29.t${state.issued}`, expires_in: 3599, token_type: 'Bearer' }) };
    }
    const bearer = String(req.headers.authorization).replace('Bearer ', '');
    if (req.path !== '/v1/projects/proj/messages:send' || !bearer.startsWith('ya29.') || state.revoked.has(bearer)) {
      return fcmError(401, 'UNAUTHENTICATED', 'THIRD_PARTY_AUTH_ERROR');
    }
    const token = (JSON.parse(req.body.toString()) as { message: { token: string } }).message.token;
    if (token === 'dead') return fcmError(404, 'NOT_FOUND', 'UNREGISTERED');
    if (token === 'other-sender') return fcmError(403, 'PERMISSION_DENIED', 'SENDER_ID_MISMATCH');
    if (token === 'malformed') return fcmError(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
    if (token === 'quota') return { ...fcmError(429, 'RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED'), headers: { 'retry-after': '60' } };
    if (token === 'down') return fcmError(503, 'UNAVAILABLE', 'UNAVAILABLE');
    if (token === 'proxy-mangled') return { status: 200, body: '<html>ok</html>' };
    return { status: 200, body: JSON.stringify({ name: `projects/proj/messages/${req.path.length}-${token}` }) };
  };
}

describe('FcmChannel against a local Google', () => {
  let server: RecordingServer;
  let channel: FcmChannel;
  const state = { issued: 0, revoked: new Set<string>() };
  const ctx = () => ({ idempotencyKey: 'dlv_9', signal: new AbortController().signal });
  const msg = (token: string) => ({ channel: 'fcm' as const, token, title: 'T', body: 'B', data: { kind: 'x' } });

  beforeAll(async () => {
    server = await startRecordingServer();
    server.fallback = fakeGoogle(() => server, state);
  });
  beforeEach(() => {
    state.issued = 0;
    state.revoked.clear();
    server.requests.length = 0;
    channel = new FcmChannel({
      serviceAccount: {
        client_email: 'tny@proj.iam.gserviceaccount.com',
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        project_id: 'proj',
        token_uri: `${server.url}/token`,
      },
      endpoint: server.url,
      clock,
    });
  });
  afterAll(() => server.close());

  it('exchanges a signed JWT for a token once, shares it across concurrent sends, and sends the v1 message', async () => {
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => channel.send(msg('good'), ctx())));
    expect(state.issued).toBe(1);
    expect(results[0]!.providerMessageId).toMatch(/^projects\/proj\/messages\//);
    const send = server.requests.find((r) => r.path.endsWith(':send'))!;
    expect(send.headers.authorization).toBe('Bearer ya29.t1');
    expect(JSON.parse(send.body.toString())).toEqual({
      message: { token: 'good', notification: { title: 'T', body: 'B' }, data: { kind: 'x', tny_idempotency_key: 'dlv_9' } },
    });
  });

  it('reuses the token until 5 minutes before expiry, then exchanges again', async () => {
    await channel.send(msg('good'), ctx());
    clock.advance(3599_000 - 5 * 60_000 - 1000);
    await channel.send(msg('good'), ctx());
    expect(state.issued).toBe(1);
    clock.advance(2000);
    await channel.send(msg('good'), ctx());
    expect(state.issued).toBe(2);
  });

  it('a 401 drops the cached token (retryable) and the next send fetches a new one', async () => {
    await channel.send(msg('good'), ctx());
    state.revoked.add('ya29.t1');
    await expect(channel.send(msg('good'), ctx())).rejects.toBeInstanceOf(RetryableError);
    await channel.send(msg('good'), ctx());
    expect(state.issued).toBe(2);
  });

  it('classifies FCM errors', async () => {
    const outcome = async (token: string) => channel.send(msg(token), ctx()).catch((e: unknown) => e);
    expect(isInvalidContact(await outcome('dead'))).toBe(true);
    expect(isInvalidContact(await outcome('other-sender'))).toBe(true);
    const malformed = await outcome('malformed');
    expect(malformed).toBeInstanceOf(PermanentError);
    expect(isInvalidContact(malformed)).toBe(false);
    const quota = await outcome('quota');
    expect(quota).toBeInstanceOf(RetryableError);
    expect((quota as RetryableError).retryAfterMs).toBe(60_000);
    expect(await outcome('down')).toBeInstanceOf(RetryableError);
    // 200 with a body that is not JSON: accepted (a failure here would resend a sent message).
    expect(await outcome('proxy-mangled')).toEqual({});
  });

  it('a service account whose key the token endpoint rejects fails permanently, without leaking the key', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const wrong = new FcmChannel({
      serviceAccount: { client_email: 'tny@proj.iam.gserviceaccount.com', private_key: other, project_id: 'proj', token_uri: `${server.url}/token` },
      endpoint: server.url,
      clock,
    });
    const err = (await wrong.send(msg('good'), ctx()).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).not.toContain('PRIVATE KEY');
    expect(err.message).not.toMatch(/ey[A-Za-z0-9_-]{10,}\./);
  });
});

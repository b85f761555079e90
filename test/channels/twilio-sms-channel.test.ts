import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TwilioSmsChannel } from '../../src/adapters/channels/twilio-sms-channel.js';
import { isInvalidContact } from '../../src/notifier/channels/errors.js';
import { PermanentError, RetryableError } from '../../src/platform/resilience/errors.js';
import { startRecordingServer, type RecordingServer, type Reply } from './recording-server.js';

const SID = 'AC0123456789abcdef0123456789abcdef';
const AUTH = 'not-a-real-token-123';
const twilioError = (status: number, code: number): Reply => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ code, message: 'x', more_info: `https://www.twilio.com/docs/errors/${code}`, status }),
});

describe('TwilioSmsChannel against a local Twilio-compatible API', () => {
  let api: RecordingServer;
  let channel: TwilioSmsChannel;
  const ctx = () => ({ idempotencyKey: 'dlv_3', signal: new AbortController().signal });
  const sms = (to = '+15551234567') => ({ channel: 'sms' as const, to, body: 'Your code is 123456 & ok' });

  beforeAll(async () => {
    api = await startRecordingServer((req) => {
      const expected = `Basic ${Buffer.from(`${SID}:${AUTH}`).toString('base64')}`;
      if (req.headers.authorization !== expected) return twilioError(401, 20003);
      return { status: 201, body: JSON.stringify({ sid: 'SM' + 'f'.repeat(32), status: 'queued' }) };
    });
    channel = new TwilioSmsChannel({ baseUrl: api.url, accountSid: SID, authToken: AUTH, from: '+15550000000' });
  });
  afterEach(() => {
    api.requests.length = 0;
    api.replies.length = 0;
  });
  afterAll(() => api.close());

  it('POSTs the form with basic auth to /2010-04-01/Accounts/{sid}/Messages.json', async () => {
    await expect(channel.send(sms(), ctx())).resolves.toEqual({ providerMessageId: 'SM' + 'f'.repeat(32) });
    const [req] = api.requests;
    expect(req!.path).toBe(`/2010-04-01/Accounts/${SID}/Messages.json`);
    expect(req!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const form = new URLSearchParams(req!.body.toString());
    expect(Object.fromEntries(form)).toEqual({ To: '+15551234567', Body: 'Your code is 123456 & ok', From: '+15550000000' });
  });

  it('uses MessagingServiceSid for an MG sender', async () => {
    const viaService = new TwilioSmsChannel({ baseUrl: api.url, accountSid: SID, authToken: AUTH, from: 'MG123' });
    await viaService.send(sms(), ctx());
    expect(new URLSearchParams(api.requests[0]!.body.toString()).get('MessagingServiceSid')).toBe('MG123');
  });

  it('classifies answers: dead numbers, bad credentials (no secret in the message), 429, 5xx, other 400', async () => {
    api.replies.push(twilioError(400, 21211), twilioError(400, 21610), twilioError(429, 20429), { status: 503 }, twilioError(400, 21602));
    const outcomes = [];
    for (let i = 0; i < 5; i++) outcomes.push(await channel.send(sms(), ctx()).catch((e: unknown) => e));
    expect(isInvalidContact(outcomes[0])).toBe(true);
    expect(isInvalidContact(outcomes[1])).toBe(true);
    expect(outcomes[2]).toBeInstanceOf(RetryableError);
    expect(outcomes[3]).toBeInstanceOf(RetryableError);
    expect(outcomes[4]).toBeInstanceOf(PermanentError);
    expect(isInvalidContact(outcomes[4])).toBe(false);

    const wrong = new TwilioSmsChannel({ baseUrl: api.url, accountSid: SID, authToken: 'wrong-token-xyz', from: '+15550000000' });
    const err = (await wrong.send(sms(), ctx()).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(PermanentError);
    expect(`${err.message} ${String(err.cause ?? '')}`).not.toContain('wrong-token-xyz');
  });

  it('refuses a number that is not E.164 without calling the API', async () => {
    await expect(channel.send(sms('555-1234'), ctx())).rejects.toSatisfy(isInvalidContact);
    expect(api.requests).toHaveLength(0);
  });
});

import { systemClock, type Clock } from '../../platform/clock.js';
import { PermanentError } from '../../platform/resilience/errors.js';
import { expectMessage, type Channel, type OutgoingMessage, type SendContext, type SendResult } from '../../notifier/channels/channel.js';
import { httpFailure, InvalidContactError } from '../../notifier/channels/errors.js';
import { httpCall } from './http-call.js';

export interface TwilioSmsChannelOptions {
  /** Default `https://api.twilio.com`; any Twilio-compatible API (or a test server). */
  baseUrl?: string;
  accountSid: string;
  authToken: string;
  /** A sender number (E.164) or a Messaging Service SID (`MG…`). */
  from: string;
  clock?: Clock;
}

/**
 * Twilio error codes that say the destination number cannot receive our SMS: 21211 invalid
 * 'To', 21614 not a mobile number, 21610 the recipient replied STOP, 21612 unreachable route.
 */
const DEAD_NUMBER = new Set([21211, 21614, 21610, 21612]);

/**
 * SMS through Twilio's Messages API (or a compatible one): form-encoded POST to
 * `{base}/2010-04-01/Accounts/{sid}/Messages.json` with basic auth. The API has no idempotency
 * key, so the delivery ledger alone prevents duplicates; a retry after a lost 201 can send a
 * second SMS (the documented window). 201 is accepted (the SID is the provider id).
 */
export class TwilioSmsChannel implements Channel {
  readonly name = 'sms' as const;
  private readonly clock: Clock;
  private readonly url: string;
  private readonly authorization: string;

  constructor(private readonly options: TwilioSmsChannelOptions) {
    this.clock = options.clock ?? systemClock;
    const base = (options.baseUrl ?? 'https://api.twilio.com').replace(/\/+$/, '');
    this.url = `${base}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`;
    this.authorization = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;
  }

  async send(message: OutgoingMessage, ctx: SendContext): Promise<SendResult> {
    const msg = expectMessage(message, 'sms');
    if (!/^\+[1-9]\d{6,14}$/.test(msg.to)) throw new InvalidContactError('The phone number is not in E.164 form.', 'bad-number');
    const form = new URLSearchParams({ To: msg.to, Body: msg.body });
    form.set(this.options.from.startsWith('MG') ? 'MessagingServiceSid' : 'From', this.options.from);
    const answer = await httpCall({
      url: this.url,
      headers: { authorization: this.authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      signal: ctx.signal,
      what: 'The SMS API',
    });
    let body: { sid?: unknown; code?: unknown; message?: unknown } = {};
    try {
      body = JSON.parse(answer.text) as typeof body;
    } catch {
      // Not JSON (a proxy's page): the status decides.
    }
    if (answer.status === 200 || answer.status === 201) return typeof body.sid === 'string' ? { providerMessageId: body.sid } : {};
    const code = typeof body.code === 'number' ? body.code : undefined;
    if (code !== undefined && DEAD_NUMBER.has(code)) {
      throw new InvalidContactError(`The SMS API refused the number (${code}).`, String(code));
    }
    if (answer.status === 401 || answer.status === 403) {
      // Wrong SID/token: say so without echoing either.
      throw new PermanentError(`The SMS API refused the credentials (${answer.status}).`);
    }
    throw httpFailure('The SMS API', answer.status, answer.headers['retry-after'], this.clock.now(), code === undefined ? '' : `code ${code}`);
  }
}

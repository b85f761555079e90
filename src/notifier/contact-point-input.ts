import { isIP } from 'node:net';
import type { FieldError } from '../platform/errors.js';
import { isContactKind, type ContactKind } from './channel-names.js';

export interface ContactPointInput {
  kind: string;
  address: string;
  keys?: { p256dh: string; auth: string };
}

export interface CheckedContactPoint {
  kind: ContactKind;
  address: string;
  keys: { p256dh: string; auth: string } | null;
}

const EMAIL = /^[^\s@"<>()[\],;:\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
/** E.164: a plus, a non-zero country digit, at most 15 digits in all. */
const E164 = /^\+[1-9]\d{1,14}$/;
/** FCM registration tokens and APNs device tokens are long opaque strings. */
const DEVICE_TOKEN = /^[A-Za-z0-9_:.-]{16,2048}$/;
const BASE64URL_KEY = /^[A-Za-z0-9_-]{16,256}={0,2}$/;

function httpUrl(text: string, httpsOnly: boolean): boolean {
  if (text.length > 2048) return false;
  try {
    const u = new URL(text);
    if (u.username || u.password) return false;
    return httpsOnly ? u.protocol === 'https:' : u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * Checks one contact point's shape (not whether it works: channels find that out and mark it
 * invalid). Web push endpoints must be https (browsers only issue https ones); webhook URLs may
 * be http, and whether their host may be private is the webhook channel's guard to decide at
 * send time, after DNS.
 */
export function checkContactPoint(input: ContactPointInput, field = 'body'): { value?: CheckedContactPoint; problems: FieldError[] } {
  const problems: FieldError[] = [];
  const at = (name: string) => (field === 'body' ? name : `${field}.${name}`);
  if (!isContactKind(input.kind)) {
    problems.push({ field: at('kind'), message: 'must be one of email, phone, web_push, fcm, apns, webhook' });
    return { problems };
  }
  const kind = input.kind;
  const address = input.address.trim();
  const ok = (() => {
    switch (kind) {
      case 'email':
        return address.length <= 254 && EMAIL.test(address);
      case 'phone':
        return E164.test(address);
      case 'fcm':
      case 'apns':
        return DEVICE_TOKEN.test(address);
      case 'web_push':
        return httpUrl(address, true) && isIP(new URL(address).hostname) === 0;
      case 'webhook':
        return httpUrl(address, false);
    }
  })();
  if (!ok) problems.push({ field: at('address'), message: ADDRESS_HINT[kind] });
  let keys: CheckedContactPoint['keys'] = null;
  if (kind === 'web_push') {
    if (!input.keys) problems.push({ field: at('keys'), message: 'a web push subscription needs keys.p256dh and keys.auth' });
    else if (!BASE64URL_KEY.test(input.keys.p256dh) || !BASE64URL_KEY.test(input.keys.auth)) {
      problems.push({ field: at('keys'), message: 'p256dh and auth must be base64url' });
    } else keys = { p256dh: input.keys.p256dh, auth: input.keys.auth };
  } else if (input.keys !== undefined) {
    problems.push({ field: at('keys'), message: 'only web_push contact points have keys' });
  }
  return problems.length > 0 ? { problems } : { value: { kind, address, keys }, problems };
}

const ADDRESS_HINT: Record<ContactKind, string> = {
  email: 'must be an e-mail address',
  phone: 'must be an E.164 number, e.g. +4915112345678',
  web_push: 'must be the https endpoint of a push subscription',
  fcm: 'must be an FCM registration token',
  apns: 'must be an APNs device token',
  webhook: 'must be an http(s) URL without credentials',
};

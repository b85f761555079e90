import type { FieldError } from '../platform/errors.js';
import type { ContactKind } from './channel-names.js';
import { canonicalLocale, isTimeZone } from './locale-and-zone.js';

/**
 * A person (or system) notifications go to. The calling service chooses the id (its own user
 * id), so it never has to store one of tny's; ids are unique per account, and an account only
 * ever sees its own recipients.
 */
export interface Recipient {
  accountId: number;
  id: string;
  /** BCP 47, canonical form; templates fall back from it (de-AT → de → default). */
  locale: string;
  /** IANA zone; quiet hours are read in it. */
  timeZone: string;
  createdAt: number;
  updatedAt: number;
}

/**
 * Where a channel can reach the recipient. `valid` starts true; a channel that gets a
 * permanent refusal (an unknown device token, a 410 from a push service) sets it false so it
 * is not tried again.
 */
export interface ContactPoint {
  id: number;
  accountId: number;
  recipientId: string;
  kind: ContactKind;
  /** E-mail address, E.164 number, push endpoint URL, device token or webhook URL. */
  address: string;
  /** Web push only: the subscription's keys. */
  keys: { p256dh: string; auth: string } | null;
  valid: boolean;
  createdAt: number;
  updatedAt: number;
}

export type NewRecipient = Omit<Recipient, 'createdAt' | 'updatedAt'> & { now: number };
export type NewContactPoint = Omit<ContactPoint, 'id' | 'createdAt' | 'updatedAt' | 'valid'> & { valid?: boolean; now: number };

/** Letters, digits and `_ - . : @`, 1–128: safe in a URL path segment and in logs. */
export const RECIPIENT_ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;

export function checkRecipientId(id: string, field = 'id'): FieldError[] {
  return RECIPIENT_ID_PATTERN.test(id) ? [] : [{ field, message: 'must be 1–128 of A-Z a-z 0-9 _ - . : @' }];
}

/** Canonical locale and zone, or the problems with them. */
export function checkLocaleAndZone(
  input: { locale?: string; timeZone?: string },
  problems: FieldError[],
): { locale?: string; timeZone?: string } {
  const out: { locale?: string; timeZone?: string } = {};
  if (input.locale !== undefined) {
    const locale = canonicalLocale(input.locale);
    if (locale === undefined) problems.push({ field: 'locale', message: 'must be a BCP 47 language tag, e.g. de-AT' });
    else out.locale = locale;
  }
  if (input.timeZone !== undefined) {
    if (!isTimeZone(input.timeZone)) problems.push({ field: 'time_zone', message: 'must be an IANA time zone, e.g. Europe/Berlin' });
    else out.timeZone = input.timeZone;
  }
  return out;
}

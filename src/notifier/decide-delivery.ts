import { CONTACT_FOR_CHANNEL, type ChannelName } from './channel-names.js';
import type { Category } from './category.js';
import type { Preferences } from './preferences.js';
import { nextAllowedTime } from './quiet-hours.js';
import type { ContactPoint, Recipient } from './recipient.js';

export type SuppressionReason = 'opted_out' | 'no_contact_point' | 'contact_invalid' | 'frequency_cap';

/** What to do with one channel of one notification. */
export type ChannelDecision =
  | { channel: ChannelName; action: 'deliver'; contacts: ContactPoint[] }
  | { channel: ChannelName; action: 'schedule'; at: number; contacts: ContactPoint[] }
  | { channel: ChannelName; action: 'suppress'; reason: SuppressionReason };

export interface DecisionInput {
  recipient: Pick<Recipient, 'timeZone'>;
  contacts: readonly ContactPoint[];
  category: Pick<Category, 'name' | 'critical' | 'frequencyCap'>;
  preferences: Preferences;
  /** The channels asked for (or the category's defaults); decided in this order. */
  channels: readonly ChannelName[];
  /** Notifications of this category already sent to the recipient within the cap's window. */
  sentInCapWindow: number;
  now: number;
  /** The request's `send_at`, if any: nothing goes before it, and quiet hours are judged at it. */
  notBefore?: number;
}

/**
 * The pure decision the pipeline makes per channel before queueing anything. Checks, in order:
 *
 * 1. contact point: the channel's kind is missing → no_contact_point; present but every one
 *    marked invalid → contact_invalid. Critical does not help: there is nowhere to send.
 * 2. opt-out (not for critical): global opt-out, the category switched off, or this
 *    category × channel switched off → opted_out.
 * 3. frequency cap: `sentInCapWindow` ≥ the category's count → frequency_cap. It applies to
 *    critical categories too: a cap on one is the operator's explicit choice.
 * 4. quiet hours (not for critical): inside them → schedule at their end, else deliver now.
 *    With `notBefore` (a `send_at` in the future) the same question is asked at that time, and
 *    the answer is at least a schedule at it — critical sends wait for their `send_at` too.
 */
export function decideDelivery(input: DecisionInput): ChannelDecision[] {
  const { category, preferences: prefs, now } = input;
  const critical = category.critical;
  const categoryPref = prefs.categories[category.name];
  const capped = category.frequencyCap !== null && input.sentInCapWindow >= category.frequencyCap.count;
  const from = Math.max(now, input.notBefore ?? now);
  const releaseAt = critical ? from : nextAllowedTime(from, prefs.quietHours, input.recipient.timeZone);

  return input.channels.map((channel): ChannelDecision => {
    const kind = CONTACT_FOR_CHANNEL[channel];
    let contacts: ContactPoint[] = [];
    if (kind !== null) {
      const ofKind = input.contacts.filter((c) => c.kind === kind);
      if (ofKind.length === 0) return { channel, action: 'suppress', reason: 'no_contact_point' };
      contacts = ofKind.filter((c) => c.valid);
      if (contacts.length === 0) return { channel, action: 'suppress', reason: 'contact_invalid' };
    }
    if (!critical && (prefs.optOut || categoryPref?.enabled === false || categoryPref?.channels[channel] === false)) {
      return { channel, action: 'suppress', reason: 'opted_out' };
    }
    if (capped) return { channel, action: 'suppress', reason: 'frequency_cap' };
    if (releaseAt > now) return { channel, action: 'schedule', at: releaseAt, contacts };
    return { channel, action: 'deliver', contacts };
  });
}

/**
 * The channels to decide on: the request's own list if it has one, else the category's
 * defaults plus the channels the recipient opted in to for this category (in that order).
 */
export function chooseChannels(
  category: Pick<Category, 'name' | 'defaultChannels'>,
  preferences: Preferences,
  requested?: readonly ChannelName[],
): ChannelName[] {
  if (requested && requested.length > 0) return [...new Set(requested)];
  const optedIn = Object.entries(preferences.categories[category.name]?.channels ?? {})
    .filter(([, on]) => on === true)
    .map(([channel]) => channel as ChannelName);
  return [...new Set([...category.defaultChannels, ...optedIn])];
}

import { describe, expect, it } from 'vitest';
import type { ChannelName, ContactKind } from './channel-names.js';
import { chooseChannels, decideDelivery, type DecisionInput } from './decide-delivery.js';
import { DEFAULT_PREFERENCES, type Preferences } from './preferences.js';
import type { ContactPoint } from './recipient.js';

const NOON = Date.parse('2026-06-01T10:00:00Z'); // 12:00 in Berlin
const NIGHT = Date.parse('2026-06-01T21:00:00Z'); // 23:00 in Berlin
const QUIET_END = Date.parse('2026-06-02T05:00:00Z'); // 07:00 CEST

let nextId = 1;
function contact(kind: ContactKind, valid = true): ContactPoint {
  return { id: nextId++, accountId: 1, recipientId: 'u1', kind, address: `${kind}-address`, keys: null, valid, createdAt: 0, updatedAt: 0 };
}

function input(over: Partial<DecisionInput> & { critical?: boolean; cap?: number; prefs?: Partial<Preferences> }): DecisionInput {
  return {
    recipient: { timeZone: 'Europe/Berlin' },
    contacts: [contact('email'), contact('phone')],
    category: { name: 'social', critical: over.critical ?? false, frequencyCap: over.cap ? { count: over.cap, windowMs: 3_600_000 } : null },
    preferences: { ...DEFAULT_PREFERENCES, quietHours: { start: '22:00', end: '07:00' }, ...over.prefs },
    channels: ['email'],
    sentInCapWindow: 0,
    now: NOON,
    ...over,
  };
}

type Row = [string, Partial<DecisionInput> & { critical?: boolean; cap?: number; prefs?: Partial<Preferences> }, string];
const off = (channel: ChannelName) => ({ categories: { social: { enabled: true, channels: { [channel]: false } } } });

describe('decideDelivery: one channel, every rule and its interaction with critical', () => {
  const rows: Row[] = [
    ['plain send at noon', {}, 'deliver'],
    ['inside quiet hours', { now: NIGHT }, `schedule@${QUIET_END}`],
    ['critical inside quiet hours', { now: NIGHT, critical: true }, 'deliver'],
    ['no quiet hours set, at night', { now: NIGHT, prefs: { quietHours: null } }, 'deliver'],
    ['no contact point of the kind', { contacts: [contact('phone')] }, 'suppress:no_contact_point'],
    ['critical, no contact point', { contacts: [], critical: true }, 'suppress:no_contact_point'],
    ['only invalid contact points', { contacts: [contact('email', false)] }, 'suppress:contact_invalid'],
    ['critical, only invalid contact points', { contacts: [contact('email', false)], critical: true }, 'suppress:contact_invalid'],
    ['one invalid, one valid', { contacts: [contact('email', false), contact('email')] }, 'deliver'],
    ['global opt-out', { prefs: { optOut: true } }, 'suppress:opted_out'],
    ['critical despite global opt-out', { prefs: { optOut: true }, critical: true }, 'deliver'],
    ['category switched off', { prefs: { categories: { social: { enabled: false, channels: {} } } } }, 'suppress:opted_out'],
    ['another category switched off', { prefs: { categories: { marketing: { enabled: false, channels: {} } } } }, 'deliver'],
    ['category × channel opted out', { prefs: off('email') }, 'suppress:opted_out'],
    ['other channel opted out', { prefs: off('sms') }, 'deliver'],
    ['critical despite channel opt-out', { prefs: off('email'), critical: true }, 'deliver'],
    ['under the cap', { cap: 3, sentInCapWindow: 2 }, 'deliver'],
    ['at the cap', { cap: 3, sentInCapWindow: 3 }, 'suppress:frequency_cap'],
    ['critical at the cap', { cap: 3, sentInCapWindow: 3, critical: true }, 'suppress:frequency_cap'],
    ['opted out and capped: opt-out is reported', { cap: 1, sentInCapWindow: 5, prefs: { optOut: true } }, 'suppress:opted_out'],
    ['no contact and opted out: contact is reported', { contacts: [], prefs: { optOut: true } }, 'suppress:no_contact_point'],
    ['capped at night: suppressed, not scheduled', { cap: 1, sentInCapWindow: 1, now: NIGHT }, 'suppress:frequency_cap'],
    ['in_app needs no contact point', { channels: ['in_app'], contacts: [] }, 'deliver'],
    ['in_app at night', { channels: ['in_app'], contacts: [], now: NIGHT }, `schedule@${QUIET_END}`],
    ['send_at in the afternoon', { notBefore: NOON + 3_600_000 }, `schedule@${NOON + 3_600_000}`],
    ['send_at in the past', { notBefore: NOON - 3_600_000 }, 'deliver'],
    ['send_at inside quiet hours', { notBefore: NIGHT }, `schedule@${QUIET_END}`],
    ['critical, send_at inside quiet hours', { notBefore: NIGHT, critical: true }, `schedule@${NIGHT}`],
    ['asked at night for a send_at after quiet hours', { now: NIGHT, notBefore: QUIET_END + 60_000 }, `schedule@${QUIET_END + 60_000}`],
    ['send_at for an opted-out recipient', { notBefore: NIGHT, prefs: { optOut: true } }, 'suppress:opted_out'],
  ];

  it.each(rows)('%s', (_name, over, expected) => {
    const [d] = decideDelivery(input(over));
    const got = d!.action === 'suppress' ? `suppress:${d!.reason}` : d!.action === 'schedule' ? `schedule@${d!.at}` : d!.action;
    expect(got).toBe(expected);
  });

  it('hands the valid contact points of the kind to the channel', () => {
    const good = contact('email');
    const [d] = decideDelivery(input({ contacts: [contact('email', false), good, contact('phone')] }));
    expect(d).toEqual({ channel: 'email', action: 'deliver', contacts: [good] });
  });

  it('decides each channel on its own, in the order given', () => {
    const decisions = decideDelivery(
      input({ channels: ['sms', 'email', 'web_push', 'webhook'], contacts: [contact('email'), contact('phone'), contact('webhook', false)], prefs: off('sms') }),
    );
    expect(decisions.map((d) => [d.channel, d.action === 'suppress' ? d.reason : d.action])).toEqual([
      ['sms', 'opted_out'],
      ['email', 'deliver'],
      ['web_push', 'no_contact_point'],
      ['webhook', 'contact_invalid'],
    ]);
  });
});

describe('chooseChannels', () => {
  const category = { name: 'social', defaultChannels: ['email', 'web_push'] as ChannelName[] };
  it('uses the request’s channels when given (deduplicated)', () => {
    expect(chooseChannels(category, DEFAULT_PREFERENCES, ['sms', 'sms', 'email'])).toEqual(['sms', 'email']);
  });
  it('else the defaults plus the channels opted in to', () => {
    const prefs: Preferences = { ...DEFAULT_PREFERENCES, categories: { social: { enabled: true, channels: { sms: true, email: false } } } };
    expect(chooseChannels(category, prefs)).toEqual(['email', 'web_push', 'sms']);
    expect(chooseChannels(category, DEFAULT_PREFERENCES, [])).toEqual(['email', 'web_push']);
  });
});

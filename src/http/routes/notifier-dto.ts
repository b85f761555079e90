import type { Category } from '../../notifier/category.js';
import type { Preferences } from '../../notifier/preferences.js';
import type { ContactPoint } from '../../notifier/recipient.js';
import type { Template } from '../../notifier/templates/template.js';
import type { RecipientWithContacts } from '../../notifier/use-cases/recipients.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** Web push keys are the subscription's secrets: stored for the channel, never echoed. */
export function contactDto(c: ContactPoint) {
  return { id: c.id, kind: c.kind, address: c.address, valid: c.valid, created_at: iso(c.createdAt), updated_at: iso(c.updatedAt) };
}

export function recipientDto(r: RecipientWithContacts) {
  return {
    id: r.id,
    locale: r.locale,
    time_zone: r.timeZone,
    contacts: r.contacts.map(contactDto),
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt),
  };
}

export function preferencesDto(p: Preferences) {
  return { opt_out: p.optOut, categories: p.categories, quiet_hours: p.quietHours };
}

export function categoryDto(c: Category) {
  return {
    name: c.name,
    description: c.description,
    default_channels: c.defaultChannels,
    fallback: c.fallback,
    critical: c.critical,
    frequency_cap: c.frequencyCap && { count: c.frequencyCap.count, window_seconds: c.frequencyCap.windowMs / 1000 },
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
  };
}

export function templateDto(t: Template) {
  return {
    name: t.name,
    channel: t.channel,
    locale: t.locale,
    subject: t.subject,
    body: t.body,
    html: t.html,
    created_at: iso(t.createdAt),
    updated_at: iso(t.updatedAt),
  };
}

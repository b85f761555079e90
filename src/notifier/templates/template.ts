import type { ChannelName } from '../channel-names.js';

/**
 * One message text per (name, channel, locale). `subject` is for channels that have one
 * (e-mail, push titles); `html` is an e-mail's HTML part, rendered with output escaping, while
 * `subject` and `body` are plain text and rendered as written.
 */
export interface Template {
  accountId: number;
  name: string;
  channel: ChannelName;
  /** Canonical BCP 47 tag. */
  locale: string;
  subject: string | null;
  body: string;
  html: string | null;
  createdAt: number;
  updatedAt: number;
}

export type TemplateId = Pick<Template, 'name' | 'channel' | 'locale'>;
export type TemplateParts = Pick<Template, 'subject' | 'body' | 'html'>;

export interface RenderedMessage {
  subject: string | null;
  body: string;
  html: string | null;
  /** The locale of the template that was used (after fallback). */
  locale: string;
}

export const TEMPLATE_NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,99}$/;

/**
 * The locales to try, most specific first: `de-Latn-AT` → `de-Latn` → `de`, then the
 * default locale and its own parents (each once).
 */
export function localeChain(locale: string, defaultLocale: string): string[] {
  const chain: string[] = [];
  for (const start of [locale, defaultLocale]) {
    const parts = start.split('-');
    for (let n = parts.length; n > 0; n--) {
      const tag = parts.slice(0, n).join('-');
      if (!chain.includes(tag)) chain.push(tag);
    }
  }
  return chain;
}

import type { FieldError } from '../platform/errors.js';
import { isChannel, type ChannelName } from './channel-names.js';
import { CATEGORY_NAME_PATTERN } from './category.js';

/** Local wall-clock times `HH:MM`; the window is [start, end) and may cross midnight. */
export interface QuietHours {
  start: string;
  end: string;
}

export interface CategoryPreference {
  /** false: nothing of this category (unless critical). */
  enabled: boolean;
  /** Per channel: true opts in, false opts out; a channel not listed follows the category. */
  channels: Partial<Record<ChannelName, boolean>>;
}

/** A recipient's choices. A recipient without stored preferences has DEFAULT_PREFERENCES. */
export interface Preferences {
  /** Global opt-out: nothing but critical notifications. */
  optOut: boolean;
  categories: Record<string, CategoryPreference>;
  quietHours: QuietHours | null;
}

export const DEFAULT_PREFERENCES: Preferences = Object.freeze({ optOut: false, categories: Object.freeze({}), quietHours: null });

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;
export const MAX_CATEGORY_PREFERENCES = 200;

/** Minutes after local midnight of `HH:MM`, or undefined. */
export function minutesOf(hhmm: string): number | undefined {
  const m = HHMM.exec(hhmm);
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

export interface PreferencesInput {
  opt_out?: boolean;
  categories?: Record<string, { enabled?: boolean; channels?: Record<string, boolean> }>;
  quiet_hours?: { start: string; end: string } | null;
}

export function checkPreferences(input: PreferencesInput): { value?: Preferences; problems: FieldError[] } {
  const problems: FieldError[] = [];
  const categories: Record<string, CategoryPreference> = {};
  const entries = Object.entries(input.categories ?? {});
  if (entries.length > MAX_CATEGORY_PREFERENCES) problems.push({ field: 'categories', message: `at most ${MAX_CATEGORY_PREFERENCES} categories` });
  for (const [name, pref] of entries.slice(0, MAX_CATEGORY_PREFERENCES)) {
    if (!CATEGORY_NAME_PATTERN.test(name)) {
      problems.push({ field: `categories.${name.slice(0, 64)}`, message: 'is not a category name' });
      continue;
    }
    const channels: Partial<Record<ChannelName, boolean>> = {};
    for (const [channel, on] of Object.entries(pref.channels ?? {})) {
      if (!isChannel(channel)) problems.push({ field: `categories.${name}.channels.${channel.slice(0, 32)}`, message: 'unknown channel' });
      else channels[channel] = on;
    }
    categories[name] = { enabled: pref.enabled ?? true, channels };
  }
  let quietHours: QuietHours | null = null;
  const q = input.quiet_hours;
  if (q) {
    const start = minutesOf(q.start);
    const end = minutesOf(q.end);
    if (start === undefined) problems.push({ field: 'quiet_hours.start', message: 'must be HH:MM (24-hour local time)' });
    if (end === undefined) problems.push({ field: 'quiet_hours.end', message: 'must be HH:MM (24-hour local time)' });
    if (start !== undefined && start === end) problems.push({ field: 'quiet_hours.end', message: 'must differ from start' });
    quietHours = { start: q.start, end: q.end };
  }
  if (problems.length > 0) return { problems };
  return { value: { optOut: input.opt_out ?? false, categories, quietHours }, problems };
}

import type { FieldError } from '../platform/errors.js';
import { isChannel, type ChannelName } from './channel-names.js';

/**
 * What kind of notification this is (security, social, marketing, …). It carries the
 * defaults the pipeline falls back to when a request names no channels, the fallback chain
 * tried when a channel fails permanently, whether it is critical, and a frequency cap.
 */
export interface Category {
  accountId: number;
  name: string;
  description: string;
  defaultChannels: ChannelName[];
  /** Ordered: when a channel fails permanently, the next one after it is queued. */
  fallback: ChannelName[];
  /** Critical sends bypass opt-outs and quiet hours (never missing or invalid contact points). */
  critical: boolean;
  /** At most `count` notifications of this category per recipient per `windowMs`. */
  frequencyCap: FrequencyCap | null;
  createdAt: number;
  updatedAt: number;
}

export interface FrequencyCap {
  count: number;
  windowMs: number;
}

export type CategoryFields = Pick<Category, 'description' | 'defaultChannels' | 'fallback' | 'critical' | 'frequencyCap'>;

export const CATEGORY_NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
/** One year: a longer window would need a count the pipeline keeps forever. */
export const CAP_WINDOW_MAX_MS = 366 * 86_400_000;

export function checkCategoryName(name: string, field = 'name'): FieldError[] {
  return CATEGORY_NAME_PATTERN.test(name) ? [] : [{ field, message: 'must be 1–64 of a-z 0-9 _ . - starting with a letter or digit' }];
}

function channelList(field: string, values: readonly string[], problems: FieldError[]): ChannelName[] {
  const out: ChannelName[] = [];
  values.forEach((v, i) => {
    if (!isChannel(v)) problems.push({ field: `${field}.${i}`, message: `unknown channel "${v}"` });
    else if (out.includes(v)) problems.push({ field: `${field}.${i}`, message: `"${v}" is listed twice` });
    else out.push(v);
  });
  return out;
}

export interface CategoryInput {
  description?: string;
  default_channels: string[];
  fallback?: string[];
  critical?: boolean;
  frequency_cap?: { count: number; window_seconds: number } | null;
}

/** The stored fields of a category, or the problems with the input. */
export function checkCategoryFields(input: CategoryInput): { value?: CategoryFields; problems: FieldError[] } {
  const problems: FieldError[] = [];
  const defaultChannels = channelList('default_channels', input.default_channels, problems);
  if (input.default_channels.length === 0) problems.push({ field: 'default_channels', message: 'needs at least one channel' });
  const fallback = channelList('fallback', input.fallback ?? [], problems);
  const description = input.description ?? '';
  if (description.length > 500) problems.push({ field: 'description', message: 'at most 500 characters' });
  let frequencyCap: FrequencyCap | null = null;
  const cap = input.frequency_cap;
  if (cap) {
    if (!Number.isInteger(cap.count) || cap.count < 1 || cap.count > 1_000_000) {
      problems.push({ field: 'frequency_cap.count', message: 'must be an integer from 1 to 1000000' });
    }
    const windowMs = cap.window_seconds * 1000;
    if (!Number.isInteger(cap.window_seconds) || cap.window_seconds < 1 || windowMs > CAP_WINDOW_MAX_MS) {
      problems.push({ field: 'frequency_cap.window_seconds', message: `must be an integer from 1 to ${CAP_WINDOW_MAX_MS / 1000}` });
    }
    frequencyCap = { count: cap.count, windowMs };
  }
  if (problems.length > 0) return { problems };
  return { value: { description, defaultChannels, fallback, critical: input.critical ?? false, frequencyCap }, problems };
}

/** The channel to queue after `failed` fails permanently, or undefined at the end of the chain. */
export function nextFallback(category: Pick<Category, 'fallback'>, failed: ChannelName): ChannelName | undefined {
  const i = category.fallback.indexOf(failed);
  return i === -1 ? undefined : category.fallback[i + 1];
}

import { isbot } from 'isbot';
import { LRUCache } from 'lru-cache';

/** What click analytics records about a User-Agent. Results are shared: frozen. */
export interface UserAgentClass {
  readonly browser: string;
  readonly os: string;
  readonly bot: boolean;
}

/**
 * Browser families, first match wins. Order matters: Edge, Opera, Samsung Internet, Yandex
 * and UC Browser all also say "Chrome"; Chrome, Firefox on iOS and most others also say
 * "Safari"; the old Android browser says "Safari" but not "Chrome".
 */
const BROWSERS: readonly (readonly [string, RegExp])[] = [
  ['Edge', /\bEdg(?:e|A|iOS)?\//],
  ['Opera', /\bOPR\/|\bOPiOS\/|\bOPT\/|\bOpera\b/],
  ['Samsung Internet', /\bSamsungBrowser\//],
  ['Yandex', /\bYaBrowser\//],
  ['UC Browser', /\bUC ?Browser\//],
  ['Firefox', /\bFirefox\/|\bFxiOS\//],
  ['IE', /\bMSIE |\bTrident\//],
  ['Chrome', /Chrome\/|\bCriOS\/|\bChromium\//],
  ['Android Browser', /\bAndroid\b.*\bSafari\//],
  ['Safari', /\bSafari\//],
];

/**
 * OS families, first match wins: Windows Phone UAs also say "Android" and "Mac OS X", iOS
 * UAs say "like Mac OS X", Android and ChromeOS UAs say "Linux" or "X11".
 */
const SYSTEMS: readonly (readonly [string, RegExp])[] = [
  ['Windows', /\bWindows\b/],
  ['iOS', /\biPhone\b|\biPad\b|\biPod\b/],
  ['ChromeOS', /\bCrOS\b/],
  ['Android', /\bAndroid\b/],
  ['macOS', /\bMacintosh\b|\bMac OS X\b/],
  ['Linux', /\bLinux\b|\bUbuntu\b|\bFedora\b/],
];

/** Longer UAs are cut before matching and caching (bounds regex work and cache memory). */
const MAX_UA_LENGTH = 512;
const MAX_HOST_LENGTH = 255;

/** A request without a User-Agent is counted as a bot: every browser sends one. */
const MISSING: UserAgentClass = Object.freeze({ browser: 'Other', os: 'Other', bot: true });

const memo = new LRUCache<string, UserAgentClass>({ max: 2000 });

function firstMatch(ua: string, table: readonly (readonly [string, RegExp])[]): string {
  for (const [name, pattern] of table) if (pattern.test(ua)) return name;
  return 'Other';
}

/**
 * Browser family, OS family and bot flag of a User-Agent; tools (curl, wget, HTTP
 * libraries) and unknown clients are browser 'Other'. Memoized: the same UAs repeat.
 */
export function classifyUserAgent(ua: string | undefined): UserAgentClass {
  if (ua === undefined || ua.trim() === '') return MISSING;
  const key = ua.length > MAX_UA_LENGTH ? ua.slice(0, MAX_UA_LENGTH) : ua;
  const cached = memo.get(key);
  if (cached !== undefined) return cached;
  const result: UserAgentClass = Object.freeze({
    browser: firstMatch(key, BROWSERS),
    os: firstMatch(key, SYSTEMS),
    bot: isbot(key),
  });
  memo.set(key, result);
  return result;
}

/** The lowercase hostname of an http(s) Referer, '' when missing, invalid or another scheme. */
export function referrerHost(referer: string | undefined): string {
  if (referer === undefined || referer === '') return '';
  let url: URL;
  try {
    url = new URL(referer);
  } catch {
    return '';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return '';
  let host = url.hostname.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host.length > MAX_HOST_LENGTH ? host.slice(0, MAX_HOST_LENGTH) : host;
}

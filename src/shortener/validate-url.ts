import { TnyError } from '../platform/errors.js';

export interface UrlPolicy {
  maxLength: number;
  /** Hosts refused, with their subdomains. Lowercase. */
  blocklist: readonly string[];
  /** tny's own public origin: links back to it would loop. */
  baseUrl: string;
}

function invalid(message: string): TnyError {
  return new TnyError('INVALID_URL', { message, details: [{ field: 'url', message }] });
}

function effectivePort(u: URL): string {
  return u.port || (u.protocol === 'https:' ? '443' : '80');
}

/**
 * Checks a target URL and returns its normalised form (WHATWG serialisation: punycode host,
 * percent-encoded, so it is always safe in a `Location` header).
 */
export function normalizeTargetUrl(raw: unknown, policy: UrlPolicy): string {
  if (typeof raw !== 'string' || raw.trim() === '') throw invalid('a URL is required');
  const text = raw.trim();
  if (text.length > policy.maxLength) throw invalid(`the URL is longer than ${policy.maxLength} characters`);
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw invalid('not an absolute URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid('only http and https URLs can be shortened');
  if (u.hostname === '') throw invalid('the URL has no host');
  const host = u.hostname.toLowerCase().replace(/\.$/, '');
  const base = new URL(policy.baseUrl);
  if (host === base.hostname.toLowerCase() && (base.port === '' || effectivePort(u) === effectivePort(base))) {
    throw invalid('the URL points back at this shortener');
  }
  for (const blocked of policy.blocklist) {
    if (host === blocked || host.endsWith(`.${blocked}`)) throw invalid(`the host ${blocked} is blocked`);
  }
  const href = u.href;
  if (href.length > policy.maxLength) throw invalid(`the URL is longer than ${policy.maxLength} characters`);
  return href;
}

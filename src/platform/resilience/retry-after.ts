/**
 * Parses an HTTP `Retry-After` value (RFC 9110 §10.2.3): either delay-seconds ("120") or an
 * HTTP-date. Returns whole milliseconds from `nowMs`, 0 for a date in the past, and undefined
 * for anything unparsable (a provider's garbage header must not turn into "wait forever" or
 * "retry now"; the caller's own backoff applies instead).
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    return Number.isSafeInteger(seconds * 1000) ? seconds * 1000 : undefined;
  }
  // A date has letters (day and month names); Date.parse alone accepts things like "1.5".
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil(at - nowMs));
}

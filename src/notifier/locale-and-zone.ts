/**
 * Locale and time-zone checks through Intl, so tny accepts exactly what the runtime can
 * format and convert with (no hand-kept list to go stale with the tz database).
 */

/** The canonical BCP 47 tag (`en-us` → `en-US`), or undefined when it is not one. */
export function canonicalLocale(tag: string): string | undefined {
  if (tag.length === 0 || tag.length > 35) return undefined;
  try {
    return Intl.getCanonicalLocales(tag)[0];
  } catch {
    return undefined;
  }
}

/** True for an IANA zone name (or alias) the runtime knows, e.g. `Europe/Berlin`, `UTC`. */
export function isTimeZone(zone: string): boolean {
  if (zone.length === 0 || zone.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

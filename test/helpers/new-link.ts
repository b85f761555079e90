import type { NewLink } from '../../src/shortener/link.js';

export const T0 = Date.UTC(2026, 0, 1);

/** A valid NewLink for tests; every field can be overridden. */
export function newLink(key: string, overrides: Partial<NewLink> = {}): NewLink {
  return {
    key,
    url: `https://example.com/${key}`,
    accountId: 1,
    createdAt: T0,
    updatedAt: T0,
    expiresAt: null,
    maxClicks: null,
    redirectStatus: 302,
    passwordHash: null,
    tags: [],
    forwardQuery: false,
    disabled: false,
    ...overrides,
  };
}

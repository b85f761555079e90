import { createHash } from 'node:crypto';
import { bytesToBase62 } from '../../platform/ids/base62.js';
import { KEY_LENGTH, type KeyCandidates } from './key-generator.js';

/**
 * Base62 of SHA-256(owner, URL): the same URL shortened by the same account maps to the same
 * key, so `create-link` returns the existing link. A collision with another URL rehashes
 * with the attempt number appended.
 */
export class HashKeys implements KeyCandidates {
  readonly strategy = 'hash' as const;

  candidate(url: string, accountId: number, attempt: number): string {
    const digest = createHash('sha256').update(`${accountId}\u0000${url}\u0000${attempt}`).digest();
    return bytesToBase62(digest, KEY_LENGTH);
  }
}

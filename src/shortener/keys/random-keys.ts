import { randomInt } from 'node:crypto';
import { encodeBase62 } from '../../platform/ids/base62.js';
import { KEY_LENGTH, KEY_SPACE, type KeyCandidates } from './key-generator.js';

/** Crypto-random 7-character keys; a collision (rare until billions of links) retries. */
export class RandomKeys implements KeyCandidates {
  readonly strategy = 'random' as const;

  candidate(): string {
    // randomInt's range is limited to 2^48, and 62^7 < 2^42.
    return encodeBase62(randomInt(0, KEY_SPACE), KEY_LENGTH);
  }
}

import { encodeBase62 } from '../../platform/ids/base62.js';
import type { FeistelPermutation } from '../../platform/ids/feistel-permutation.js';
import type { IdSequence } from '../ports.js';
import { KEY_LENGTH, KEY_SPACE, type KeyCandidates } from './key-generator.js';

const SEQUENCE = 'short_key';

/**
 * The chapter's key generation service, done in process: ids are leased from the database
 * in blocks (one atomic UPDATE per block, so processes never share an id), and each id is
 * mapped through a keyed permutation of [0, 62^7) so keys are 7 characters, unique without
 * a collision check, and neither sequential nor guessable.
 */
export class CounterKeys implements KeyCandidates {
  readonly strategy = 'counter' as const;
  private next = 0;
  private end = 0;
  private leasing: Promise<void> | undefined;

  constructor(
    private readonly sequence: IdSequence,
    private readonly permutation: FeistelPermutation,
    private readonly blockSize: number,
  ) {
    if (permutation.domain !== KEY_SPACE) throw new RangeError('the permutation must cover 62^7');
  }

  async candidate(): Promise<string> {
    while (this.next >= this.end) {
      // One lease at a time; callers arriving meanwhile wait for it and then take ids from it.
      this.leasing ??= this.lease().finally(() => {
        this.leasing = undefined;
      });
      await this.leasing;
    }
    const id = this.next++;
    return encodeBase62(this.permutation.encrypt(id % KEY_SPACE), KEY_LENGTH);
  }

  private async lease(): Promise<void> {
    const { start, end } = await this.sequence.lease(SEQUENCE, this.blockSize);
    this.next = start;
    this.end = end;
  }
}

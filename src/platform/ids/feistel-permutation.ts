import { createHmac } from 'node:crypto';

/**
 * A keyed bijection of [0, domain) onto itself: a balanced Feistel network whose round
 * function is HMAC-SHA256 (a PRF, so four rounds make a strong pseudo-random permutation),
 * with cycle-walking to stay inside a domain that is not a power of two.
 *
 * The shortener maps its counter through it: consecutive ids give unrelated-looking keys,
 * every id gives a different key, and no collision check is needed.
 */
export class FeistelPermutation {
  private readonly halfBits: number;
  private readonly halfSize: number;
  private readonly roundKeys: Buffer[];

  constructor(
    readonly domain: number,
    secret: string | Buffer,
    private readonly rounds = 4,
  ) {
    if (!Number.isSafeInteger(domain) || domain < 2) throw new RangeError('domain must be a safe integer ≥ 2');
    // Exact integer search: Math.ceil(Math.log2(2 ** 50 + 1)) is 50, one bit short, which
    // made the permutation lose values at the top of such domains.
    let bits = 1;
    while (2 ** bits < domain) bits++;
    if (bits % 2 === 1) bits += 1;
    this.halfBits = bits / 2;
    this.halfSize = 2 ** this.halfBits;
    if (this.halfSize * this.halfSize > Number.MAX_SAFE_INTEGER) throw new RangeError('domain too large');
    this.roundKeys = Array.from({ length: rounds }, (_, i) =>
      createHmac('sha256', secret).update(`tny-feistel-round-${i}`).digest(),
    );
  }

  private round(i: number, value: number): number {
    const digest = createHmac('sha256', this.roundKeys[i]!).update(String(value)).digest();
    // 6 bytes = 48 bits ≥ halfBits (≤ 26 for any safe domain); reduce to the half size.
    return digest.readUIntBE(0, 6) % this.halfSize;
  }

  private once(x: number): number {
    let left = Math.floor(x / this.halfSize);
    let right = x % this.halfSize;
    for (let i = 0; i < this.rounds; i++) {
      const next = (left ^ this.round(i, right)) >>> 0;
      left = right;
      right = next % this.halfSize;
    }
    return left * this.halfSize + right;
  }

  private onceInverse(y: number): number {
    let left = Math.floor(y / this.halfSize);
    let right = y % this.halfSize;
    for (let i = this.rounds - 1; i >= 0; i--) {
      const prev = (right ^ this.round(i, left)) >>> 0;
      right = left;
      left = prev % this.halfSize;
    }
    return left * this.halfSize + right;
  }

  /** Cycle-walk: permute the bigger power-of-two domain until the value lands inside ours. */
  encrypt(x: number): number {
    if (!Number.isSafeInteger(x) || x < 0 || x >= this.domain) throw new RangeError(`${x} is outside the domain`);
    let y = this.once(x);
    while (y >= this.domain) y = this.once(y);
    return y;
  }

  decrypt(y: number): number {
    if (!Number.isSafeInteger(y) || y < 0 || y >= this.domain) throw new RangeError(`${y} is outside the domain`);
    let x = this.onceInverse(y);
    while (x >= this.domain) x = this.onceInverse(x);
    return x;
  }
}

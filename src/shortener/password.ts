import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt cost: N=2^15, r=8, p=1 (32 MiB per hash). Stored with the hash, so it can be raised later. */
const N = 2 ** 15;
const R = 8;
const P = 1;
const KEYLEN = 32;

function scryptAsync(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  const options: ScryptOptions = { N: n, r, p, maxmem: 64 * 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEYLEN, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** `scrypt$N$r$p$salt$hash`, salt and hash in base64url. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

const B64URL = /^[A-Za-z0-9_-]+$/;

/**
 * True for a hash `hashPassword` could have made: `scrypt$N$r$p$salt$hash` with N a power of
 * two, a cost `verifyPassword` can afford, and a hash of the right length. Imports store such
 * hashes as they are, so a bad one must be refused there, not fail at the first unlock.
 */
export function isPasswordHash(text: string): boolean {
  const parts = text.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const [cost, block, par] = [n, r, p].map((x) => (/^[1-9]\d{0,9}$/.test(x) ? Number(x) : 0)) as [number, number, number];
  if (cost < 2 || block < 1 || par < 1 || par > 16 || 128 * cost * block > 64 * 1024 * 1024) return false;
  if ((cost & (cost - 1)) !== 0) return false;
  if (!B64URL.test(salt) || salt.length < 11 || salt.length > 128 || !B64URL.test(hash)) return false;
  return Buffer.from(hash, 'base64url').length === KEYLEN && hash.length === Math.ceil((KEYLEN * 4) / 3);
}

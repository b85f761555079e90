import { TnyError } from '../errors.js';
import { generateApiKey } from './api-key.js';
import type { Account, AccountStore, ApiKeyRecord } from './ports.js';

export const ADMIN_ACCOUNT = 'admin';

export interface CreatedKey {
  token: string;
  key: ApiKeyRecord;
  account: Account;
}

/**
 * Makes a key. With `accountName` the key joins that existing account; without it a new
 * account named after the key is created.
 */
export async function createKey(
  store: AccountStore,
  opts: { name: string; accountName?: string; admin?: boolean },
  now: number,
): Promise<CreatedKey> {
  const name = opts.name.trim();
  if (name === '' || name.length > 200) throw new TnyError('VALIDATION_ERROR', { message: 'a key name is 1 to 200 characters' });
  const { id, token, hash } = generateApiKey();
  const record = { id, name, keyHash: hash, createdAt: now, lastUsedAt: null, revokedAt: null };
  let account: Account | 'conflict' | undefined;
  if (opts.accountName !== undefined) {
    account = await store.findAccountByName(opts.accountName);
    if (!account) throw new TnyError('ACCOUNT_NOT_FOUND', { message: `no account is named "${opts.accountName}"` });
    await store.createKey({ ...record, accountId: account.id });
  } else {
    account = await store.createAccount(name, opts.admin ?? false, now, record);
    if (account === 'conflict') {
      throw new TnyError('ACCOUNT_EXISTS', {
        message: `an account named "${name}" exists; use --account ${name} to add a key to it`,
      });
    }
  }
  const key: ApiKeyRecord = { ...record, accountId: account.id };
  return { token, key, account };
}

/**
 * On a database with no admin account, creates it with one key, in one transaction, and
 * returns the key (to be shown once). Safe when several processes start together: only the
 * one whose insert made the account gets a key; a crash leaves neither.
 */
export async function ensureAdminKey(store: AccountStore, now: number, keyName = 'admin'): Promise<string | undefined> {
  const { id, token, hash } = generateApiKey();
  const made = await store.createAccount(ADMIN_ACCOUNT, true, now, {
    id,
    name: keyName,
    keyHash: hash,
    createdAt: now,
    lastUsedAt: null,
    revokedAt: null,
  });
  return made === 'conflict' ? undefined : token;
}

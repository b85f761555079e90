/** Accounts own links (and later notifications); API keys belong to accounts. */
export interface Account {
  id: number;
  name: string;
  isAdmin: boolean;
  createdAt: number;
}

export interface ApiKeyRecord {
  /** Public id, also the middle part of the key itself (`tny_<id>_<secret>`). */
  id: string;
  accountId: number;
  name: string;
  /** SHA-256 (hex) of the secret part. The secret itself is never stored. */
  keyHash: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface AccountStore {
  /** `'conflict'` when the name is taken. With `firstKey`, the account and key are made atomically. */
  createAccount(
    name: string,
    isAdmin: boolean,
    now: number,
    firstKey?: Omit<ApiKeyRecord, 'accountId'>,
  ): Promise<Account | 'conflict'>;
  findAccountByName(name: string): Promise<Account | undefined>;
  findAccountById(id: number): Promise<Account | undefined>;
  countAccounts(): Promise<number>;
  createKey(key: ApiKeyRecord): Promise<void>;
  /** The key with its account, revoked or not. */
  findKey(id: string): Promise<{ key: ApiKeyRecord; account: Account } | undefined>;
  listKeys(): Promise<{ key: ApiKeyRecord; account: Account }[]>;
  /** false when there is no such key or it was already revoked. */
  revokeKey(id: string, now: number): Promise<boolean>;
}

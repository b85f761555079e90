import type { Kysely, Selectable } from 'kysely';
import type { Account, AccountStore, ApiKeyRecord } from '../../platform/auth/ports.js';
import type { AccountsTable, ApiKeysTable, Database } from './schema.js';

/** Accounts and API keys (only the hash of a key's secret is stored). */
export class KyselyAccountStore implements AccountStore {
  constructor(private readonly db: Kysely<Database>) {}

  async createAccount(
    name: string,
    isAdmin: boolean,
    now: number,
    firstKey?: Omit<ApiKeyRecord, 'accountId'>,
  ): Promise<Account | 'conflict'> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('accounts')
        .values({ name, is_admin: isAdmin ? 1 : 0, created_at: now })
        .onConflict((oc) => oc.column('name').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!row) return 'conflict' as const;
      if (firstKey) await insertKey(trx, { ...firstKey, accountId: row.id });
      return toAccount(row);
    });
  }

  async findAccountByName(name: string): Promise<Account | undefined> {
    const row = await this.db.selectFrom('accounts').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toAccount(row);
  }

  async findAccountById(id: number): Promise<Account | undefined> {
    const row = await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toAccount(row);
  }

  async countAccounts(): Promise<number> {
    const row = await this.db
      .selectFrom('accounts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async createKey(key: ApiKeyRecord): Promise<void> {
    await insertKey(this.db, key);
  }

  async findKey(id: string): Promise<{ key: ApiKeyRecord; account: Account } | undefined> {
    const row = await this.keysWithAccounts().where('k.id', '=', id).executeTakeFirst();
    return row && toKeyWithAccount(row);
  }

  async listKeys(): Promise<{ key: ApiKeyRecord; account: Account }[]> {
    const rows = await this.keysWithAccounts().orderBy('k.created_at').orderBy('k.id').execute();
    return rows.map(toKeyWithAccount);
  }

  async revokeKey(id: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  private keysWithAccounts() {
    return this.db
      .selectFrom('api_keys as k')
      .innerJoin('accounts as a', 'a.id', 'k.account_id')
      .selectAll('k')
      .select(['a.name as account_name', 'a.is_admin as account_is_admin', 'a.created_at as account_created_at']);
  }
}

function toAccount(row: Selectable<AccountsTable>): Account {
  return { id: Number(row.id), name: row.name, isAdmin: Number(row.is_admin) !== 0, createdAt: Number(row.created_at) };
}

type KeyRow = Selectable<ApiKeysTable> & { account_name: string; account_is_admin: number; account_created_at: number };

function toKeyWithAccount(row: KeyRow): { key: ApiKeyRecord; account: Account } {
  return {
    key: {
      id: row.id,
      accountId: Number(row.account_id),
      name: row.name,
      keyHash: row.key_hash,
      createdAt: Number(row.created_at),
      lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
      revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    },
    account: {
      id: Number(row.account_id),
      name: row.account_name,
      isAdmin: Number(row.account_is_admin) !== 0,
      createdAt: Number(row.account_created_at),
    },
  };
}

async function insertKey(db: Kysely<Database>, key: ApiKeyRecord): Promise<void> {
  await db
    .insertInto('api_keys')
    .values({
      id: key.id,
      account_id: key.accountId,
      name: key.name,
      key_hash: key.keyHash,
      created_at: key.createdAt,
      last_used_at: key.lastUsedAt,
      revoked_at: key.revokedAt,
    })
    .execute();
}

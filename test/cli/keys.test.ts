import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTnyError } from '../../src/platform/errors.js';
import { makeTestCli, type TestCli } from '../helpers/cli.js';

let cli: TestCli & { adminKey: string };

beforeAll(async () => {
  cli = await makeTestCli();
});
afterAll(() => cli.close());

const TOKEN = /tny_[0-9A-Za-z]{12}_[0-9A-Za-z]{32}/;

/** Who the key authenticates as, through the same Authenticator the API uses. */
async function whoIs(token: string) {
  return cli.runtime().withContainer((c) => c.auth.authenticate(token));
}

async function accountId(name: string): Promise<number | undefined> {
  return cli.runtime().withContainer(async (c) => (await c.accounts.findAccountByName(name))?.id);
}

describe('tny keys', () => {
  it('create: a new account named after the key, and the key works', async () => {
    const run = await cli.run('keys', 'create', '--name', 'team-a');
    expect(run.error).toBeUndefined();
    expect(run.out).toMatch(/^created key [0-9A-Za-z]{12} "team-a" in account "team-a"\n/);
    const token = TOKEN.exec(run.out)![0];
    const actor = await whoIs(token);
    expect(actor).toMatchObject({ accountId: await accountId('team-a'), isAdmin: false });
  });

  it('create --account adds a key to an existing account', async () => {
    const run = await cli.run('keys', 'create', '--name', 'second', '--account', 'team-a');
    expect(run.out).toContain('in account "team-a"');
    expect((await whoIs(TOKEN.exec(run.out)![0]))?.accountId).toBe(await accountId('team-a'));
    const toAdmin = await cli.run('keys', 'create', '--name', 'ops', '--account', 'admin');
    expect(await whoIs(TOKEN.exec(toAdmin.out)![0])).toMatchObject({ isAdmin: true });
  });

  it('create --account for a missing account fails, and a name taken by an account fails', async () => {
    const missing = await cli.run('keys', 'create', '--name', 'x', '--account', 'nope');
    expect(isTnyError(missing.error) && missing.error.code).toBe('ACCOUNT_NOT_FOUND');
    expect(missing.out).toBe('');
    const taken = await cli.run('keys', 'create', '--name', 'team-a');
    expect(isTnyError(taken.error) && taken.error.code).toBe('ACCOUNT_EXISTS');
    expect((taken.error as Error).message).toContain('use --account team-a');
  });

  it('list shows every key but never a secret', async () => {
    const made = await cli.run('keys', 'create', '--name', 'listed');
    const token = TOKEN.exec(made.out)![0];
    const text = await cli.run('keys', 'list');
    expect(text.out).toContain('listed  account=listed');
    expect(text.out).toContain('admin  account=admin (admin)');
    const json = await cli.run('keys', 'list', '--json');
    const rows = JSON.parse(json.out) as Record<string, unknown>[];
    expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining(['admin', 'team-a', 'second', 'ops', 'listed']));
    for (const out of [text.out, json.out]) {
      expect(out).not.toMatch(TOKEN);
      expect(out).not.toContain(token.split('_')[2]);
      expect(out).not.toContain(cli.adminKey);
    }
    expect(Object.keys(rows[0]!).sort()).toEqual(['account', 'admin', 'created_at', 'id', 'name', 'revoked_at']);
  });

  it('revoke: the key stops authenticating, and shows as revoked', async () => {
    const made = await cli.run('keys', 'create', '--name', 'short-lived');
    const token = TOKEN.exec(made.out)![0];
    const id = token.split('_')[1]!;
    expect(await whoIs(token)).toBeDefined();
    const run = await cli.run('keys', 'revoke', id);
    expect(run.out).toBe(`revoked ${id}\n`);
    expect(await whoIs(token)).toBeUndefined();
    expect((await cli.run('keys', 'list')).out).toMatch(new RegExp(`${id} {2}short-lived .* REVOKED \\d{4}-`));
    const again = await cli.run('keys', 'revoke', id);
    expect(isTnyError(again.error) && again.error.code).toBe('API_KEY_NOT_FOUND');
    expect((again.error as Error).message).toBe(`no active key has the id ${id}`);
  });
});

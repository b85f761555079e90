import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/platform/auth/actor.js';
import { verifyPassword } from '../../src/shortener/password.js';
import { createLink } from '../../src/shortener/use-cases/create-link.js';
import { makeTestCli, type TestCli } from '../helpers/cli.js';

let source: TestCli;
const fresh: TestCli[] = [];

async function freshCli(): Promise<TestCli> {
  const cli = await makeTestCli();
  fresh.push(cli);
  return cli;
}

/** Links with every field set, links with none, generated keys, and one expired link. */
beforeAll(async () => {
  source = await makeTestCli();
  await source.runtime().withContainer(async (c) => {
    const admin = (await c.accounts.findAccountByName('admin'))!;
    const actor: Actor = { accountId: admin.id, isAdmin: true, keyId: 'test' };
    await createLink(c.shortener, actor, {
      url: 'https://example.com/full?q=1#frag',
      alias: 'full-link',
      expiresAt: '2099-12-31T23:59:59.123Z',
      maxClicks: 1000,
      redirectStatus: 307,
      password: 'open sesame',
      tags: ['zeta', 'alpha', 'with|pipe', 'ünïcode'],
      forwardQuery: true,
      disabled: true,
    });
    await createLink(c.shortener, actor, { url: 'https://example.com/plain', alias: 'plain' });
    await createLink(c.shortener, actor, { url: 'https://example.com/quote "and", comma', tags: ['one'] });
    for (let i = 0; i < 30; i++) await createLink(c.shortener, actor, { url: `https://example.com/gen/${i}`, redirectStatus: 302 });
  });
});
afterAll(() => {
  source.close();
  for (const cli of fresh) cli.close();
});

async function exportTo(cli: TestCli, name: string, ...args: string[]): Promise<string> {
  const path = join(cli.dir, name);
  const run = await cli.run('links', 'export', '--out', path, ...args);
  expect(run.error).toBeUndefined();
  return readFileSync(path, 'utf8');
}

describe('tny links export → import → export', () => {
  it('CSV: a fresh database gets identical links, passwords included', async () => {
    const first = await exportTo(source, 'first.csv');
    expect(first.split('\n')[0]).toBe('url,alias,tags,expires_at,max_clicks,redirect_status,forward_query,disabled,password_hash,created_at');
    expect(first).toContain('https://example.com/full?q=1#frag,full-link,"alpha,with|pipe,zeta,ünïcode",2099-12-31T23:59:59.123Z,1000,307,true,true,scrypt$');
    expect(first.trimEnd().split('\n')).toHaveLength(34);

    const target = await freshCli();
    const imported = await target.run('links', 'import', join(source.dir, 'first.csv'));
    expect(imported.out).toContain('created 33\n');
    const second = await exportTo(target, 'second.csv');
    expect(second).toBe(first);

    const full = await target.runtime().withContainer((c) => c.shortener.links.findByKey('full-link'));
    expect(await verifyPassword('open sesame', full!.passwordHash!)).toBe(true);
    expect(await verifyPassword('wrong', full!.passwordHash!)).toBe(false);
  });

  it('JSON: the same, and the JSON import exports the same CSV', async () => {
    const first = await exportTo(source, 'first.json');
    const parsed = JSON.parse(first) as Record<string, unknown>[];
    expect(parsed).toHaveLength(33);
    expect(parsed.find((r) => r.alias === 'full-link')).toMatchObject({
      tags: ['alpha', 'with|pipe', 'zeta', 'ünïcode'],
      max_clicks: 1000,
      redirect_status: 307,
      forward_query: true,
      disabled: true,
      expires_at: '2099-12-31T23:59:59.123Z',
    });

    const target = await freshCli();
    const imported = await target.run('links', 'import', join(source.dir, 'first.json'));
    expect(imported.out).toContain('created 33\n');
    expect(await exportTo(target, 'second.json')).toBe(first);
    expect(await exportTo(target, 'second.csv')).toBe(await exportTo(source, 'again.csv'));
  });

  it('streams to stdout by default; --account limits the export to one account', async () => {
    const all = await source.run('links', 'export');
    expect(all.out.trimEnd().split('\n')).toHaveLength(34);
    expect(all.err).toBe('exported 33 links\n');
    await source.run('keys', 'create', '--name', 'other');
    const none = await source.run('links', 'export', '--account', 'other', '--format', 'json');
    expect(JSON.parse(none.out)).toEqual([]);
    const missing = await source.run('links', 'export', '--account', 'ghost');
    expect((missing.error as Error).message).toMatch(/no account is named "ghost"/);
  });

  it('exports expired links; import skips them as "expired"', async () => {
    const cli = await freshCli();
    await cli.runtime().withContainer(async (c) => {
      const admin = (await c.accounts.findAccountByName('admin'))!;
      const now = Date.now();
      await c.shortener.links.insert({
        key: 'gone-by', url: 'https://example.com/old', accountId: admin.id, createdAt: now - 20_000, updatedAt: now - 20_000,
        expiresAt: now - 10_000, maxClicks: null, redirectStatus: 301, passwordHash: null, tags: [], forwardQuery: false, disabled: false,
      });
    });
    const exported = await exportTo(cli, 'expired.csv');
    expect(exported).toContain('https://example.com/old,gone-by,');
    const target = await freshCli();
    const run = await target.run('links', 'import', join(cli.dir, 'expired.csv'));
    expect(run.out).toContain('created 0\n');
    expect(run.out).toMatch(/ {2}line 2: expired \(EXPIRED\): expired at \d{4}-/);
  });
});

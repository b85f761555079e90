import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliFailure } from '../../src/cli/runtime.js';
import { isTnyError } from '../../src/platform/errors.js';
import type { Link } from '../../src/shortener/link.js';
import { makeTestCli, type TestCli } from '../helpers/cli.js';

let cli: TestCli;
let fileNo = 0;

beforeAll(async () => {
  cli = await makeTestCli();
});
afterAll(() => cli.close());

function file(text: string, ext = 'csv'): string {
  const path = join(cli.dir, `import-${++fileNo}.${ext}`);
  writeFileSync(path, text);
  return path;
}

function csv(...rows: string[]): string {
  return `${rows.join('\n')}\n`;
}

async function link(key: string): Promise<Link | undefined> {
  return cli.runtime().withContainer((c) => c.shortener.links.findByKey(key));
}

async function linkCount(): Promise<number> {
  const run = await cli.run('links', 'export', '--format', 'json');
  return (JSON.parse(run.out) as unknown[]).length;
}

/** The "line N: …" lines of a summary. */
function skippedLines(out: string): string[] {
  return out.split('\n').filter((l) => l.startsWith('  line '));
}

describe('tny links import', () => {
  it('creates valid rows with their fields, generated keys for rows without alias', async () => {
    const run = await cli.run(
      'links', 'import',
      file(csv(
        'url,alias,tags,expires_at',
        'https://example.com/a,good-a,"news,2024",2099-01-01T00:00:00Z',
        'https://example.com/b,,,',
        'https://example.com/c,good_c, x|y ,',
      )),
    );
    expect(run.error).toBeUndefined();
    expect(run.out).toContain('created 3\n');
    expect(run.out).toContain('skipped 0\n');
    const a = await link('good-a');
    expect(a).toMatchObject({ url: 'https://example.com/a', tags: ['2024', 'news'], expiresAt: Date.UTC(2099, 0, 1), redirectStatus: 301 });
    expect((await link('good_c'))?.tags).toEqual(['x|y']);
    const exported = JSON.parse((await cli.run('links', 'export', '--format', 'json')).out) as { url: string; alias: string }[];
    const generated = exported.find((r) => r.url === 'https://example.com/b');
    expect(generated?.alias).toMatch(/^[0-9A-Za-z]{7}$/);
  });

  it('skips bad URLs with their line numbers and keeps going', async () => {
    const run = await cli.run(
      'links', 'import',
      file(csv(
        'url,alias',
        'javascript:alert(1),bad-url-1',
        'https://example.com/ok1,url-ok-1',
        'not a url,bad-url-2',
        ',bad-url-3',
        'ftp://example.com/x,bad-url-4',
        'http://tny.test/loop,bad-url-5',
        'https://example.com/ok2,url-ok-2',
      )),
    );
    expect(run.error).toBeUndefined();
    expect(run.out).toContain('created 2\n');
    expect(run.out).toContain('skipped 5: invalid url 5\n');
    expect(skippedLines(run.out).map((l) => l.split(':')[0])).toEqual(['  line 2', '  line 4', '  line 5', '  line 6', '  line 7']);
    expect(run.out).toContain('  line 7: invalid url (INVALID_URL): the URL points back at this shortener');
    expect(await link('url-ok-2')).toBeDefined();
    expect(await link('bad-url-1')).toBeUndefined();
  });

  it('skips reserved, malformed and taken aliases, and duplicates inside the file', async () => {
    await cli.run('links', 'import', file(csv('url,alias', 'https://example.com/first,taken-before')));
    const run = await cli.run(
      'links', 'import', '--batch', '2',
      file(csv(
        'url,alias',
        'https://example.com/1,api', // 2: reserved
        'https://example.com/2,Health', // 3: reserved, case-insensitively
        'https://example.com/3,ab', // 4: too short
        'https://example.com/4,a b c', // 5: bad characters
        'https://example.com/5,taken-before', // 6: taken by an earlier import
        'https://example.com/6,twice', // 7: created
        'https://example.com/7,twice', // 8: same batch (of 2) as line 7
        'https://example.com/8,twice', // 9: a later batch
      )),
    );
    expect(run.error).toBeUndefined();
    expect(run.out).toContain('created 1\n');
    expect(run.out).toContain('skipped 7: alias taken 3, reserved alias 2, invalid alias 2\n');
    expect(skippedLines(run.out)).toEqual([
      '  line 2: reserved alias (RESERVED_ALIAS): "api" is reserved',
      '  line 3: reserved alias (RESERVED_ALIAS): "Health" is reserved',
      '  line 4: invalid alias (INVALID_ALIAS): an alias is 3 to 64 characters of A-Z, a-z, 0-9, _ and -',
      '  line 5: invalid alias (INVALID_ALIAS): an alias is 3 to 64 characters of A-Z, a-z, 0-9, _ and -',
      '  line 6: alias taken (ALIAS_TAKEN): the alias "taken-before" is already taken',
      '  line 8: alias taken (ALIAS_TAKEN): the alias "twice" is already taken',
      '  line 9: alias taken (ALIAS_TAKEN): the alias "twice" is already taken',
    ]);
    expect((await link('twice'))?.url).toBe('https://example.com/6');
    expect((await link('taken-before'))?.url).toBe('https://example.com/first');
  });

  it('skips rows whose expires_at has passed as "expired", and bad field values as invalid', async () => {
    const run = await cli.run(
      'links', 'import',
      file(csv(
        'url,alias,expires_at,max_clicks,redirect_status,disabled,password_hash',
        'https://example.com/old,exp-old,2001-02-03T04:05:06Z,,,,',
        'https://example.com/bad-date,exp-bad,tomorrow,,,,',
        'https://example.com/mc,exp-mc,,0,,,',
        'https://example.com/rs,exp-rs,,,303,,',
        'https://example.com/dis,exp-dis,,,,maybe,',
        'https://example.com/pw,exp-pw,,,,,plaintext',
        'https://example.com/fine,exp-fine,2099-01-01T00:00:00Z,5,307,yes,',
      )),
    );
    expect(run.error).toBeUndefined();
    expect(run.out).toContain('created 1\n');
    expect(run.out).toContain('skipped 6: invalid field 5, expired 1\n');
    expect(skippedLines(run.out)).toEqual([
      '  line 2: expired (EXPIRED): expired at 2001-02-03T04:05:06Z',
      '  line 3: invalid field (VALIDATION_ERROR): expires_at: must be an ISO 8601 date-time, e.g. 2030-01-31T00:00:00Z',
      '  line 4: invalid field (VALIDATION_ERROR): max_clicks: must be an integer from 1 to 1000000000000',
      '  line 5: invalid field (VALIDATION_ERROR): redirect_status: must be 301, 302, 307 or 308',
      '  line 6: invalid field (VALIDATION_ERROR): disabled: must be true or false',
      '  line 7: invalid field (VALIDATION_ERROR): password_hash: must be a scrypt hash made by tny (scrypt$N$r$p$salt$hash)',
    ]);
    expect(await link('exp-fine')).toMatchObject({ maxClicks: 5, redirectStatus: 307, disabled: true });
  });

  it('reports rows with the wrong number of cells and goes on', async () => {
    const run = await cli.run('links', 'import', file(csv('url,alias', 'https://example.com/m1,cells-1,extra', 'https://example.com/m2,cells-2')));
    expect(run.out).toContain('created 1\n');
    expect(skippedLines(run.out)).toEqual(['  line 2: malformed row (MALFORMED_ROW): 3 cells where the header has 2']);
  });

  it('shows the first 20 skipped rows, all of them with --verbose', async () => {
    const rows = Array.from({ length: 25 }, (_, i) => `nope-${i},`);
    const path = file(csv('url,alias', ...rows));
    const short = await cli.run('links', 'import', path);
    expect(short.out).toContain('skipped 25: invalid url 25\n');
    expect(short.out).toContain('first 20 skipped rows (--verbose lists all):');
    expect(skippedLines(short.out)).toHaveLength(20);
    expect(skippedLines(short.out)[19]).toMatch(/^ {2}line 21: /);
    // Another file (the same one again would be the same run: its report, not a new import).
    const all = await cli.run('links', 'import', '--verbose', file(csv('url,alias', ...rows, 'nope-25,')));
    expect(skippedLines(all.out)).toHaveLength(26);
    // The same file again: the finished run's report (the first 20 skipped rows are kept with it).
    const again = await cli.run('links', 'import', path);
    expect(again.out).toContain('was imported into account "admin" already (run import:1:');
    expect(again.out).toContain('read 25 rows (when the run was planned)\n');
    expect(again.out).toContain('skipped 25: invalid url 25\n');
    expect(skippedLines(again.out)).toEqual(skippedLines(short.out));
  });

  it('refuses a file with an unknown column before writing anything', async () => {
    const before = await linkCount();
    const run = await cli.run('links', 'import', file(csv('url,alias,colour', 'https://example.com/u,unknown-col,red')));
    expect(run.error).toBeInstanceOf(CliFailure);
    expect((run.error as Error).message).toMatch(/line 1: unknown column "colour"; the columns are: url, alias, tags, expires_at/);
    expect(await linkCount()).toBe(before);
  });

  it('refuses a JSON file with an unknown field or broken JSON anywhere, before writing anything', async () => {
    const before = await linkCount();
    const good = '{"url":"https://example.com/j1","alias":"json-1"}';
    const unknown = await cli.run('links', 'import', file(`[\n${good},\n{"url":"https://example.com/j2","colour":"red"}\n]\n`, 'json'));
    expect((unknown.error as Error).message).toMatch(/line 3: unknown column "colour"/);
    const broken = await cli.run('links', 'import', file(`[\n${good},\n{"url": nope}\n]\n`, 'json'));
    expect((broken.error as Error).message).toMatch(/line 3: not valid JSON/);
    const unclosed = await cli.run('links', 'import', file(`[\n${good}\n`, 'json'));
    expect((unclosed.error as Error).message).toMatch(/ends before the array is closed/);
    expect(await linkCount()).toBe(before);
    const ok = await cli.run('links', 'import', file(`[\n${good}\n]\n`, 'json'));
    expect(ok.out).toContain('created 1\n');
  });

  it('fails with a clear message on bad arguments: missing file, no header, --batch, --account', async () => {
    const cases: [string[], RegExp][] = [
      [['links', 'import', join(cli.dir, 'missing.csv')], /cannot read .*missing\.csv: no such file/],
      [['links', 'import', file('')], /is empty: a header row is required/],
      [['links', 'import', file(csv('alias', 'x'))], /a "url" column is required/],
      [['links', 'import', '--batch', '0', file(csv('url'))], /--batch must be a whole number from 1 to 10000/],
      [['links', 'import', '--account', 'nobody', file(csv('url'))], /no account is named "nobody"/],
    ];
    for (const [args, message] of cases) {
      const run = await cli.run(...args);
      expect(run.error, args.join(' ')).toBeInstanceOf(CliFailure);
      expect((run.error as Error).message).toMatch(message);
    }
  });

  it('puts the links in --account', async () => {
    await cli.run('keys', 'create', '--name', 'importer');
    const run = await cli.run('links', 'import', '--account', 'importer', file(csv('url,alias', 'https://example.com/acct,in-importer')));
    expect(run.out).toContain('into account "importer"');
    const owner = await cli.runtime().withContainer(async (c) => (await c.accounts.findAccountByName('importer'))?.id);
    expect((await link('in-importer'))?.accountId).toBe(owner);
    const admin = await cli.runtime().withContainer(async (c) => (await c.accounts.findAccountByName('admin'))?.id);
    expect((await link('good-a'))?.accountId).toBe(admin);
  });
});

describe('tny links import, 20,000 rows', () => {
  it('imports them in batches', async () => {
    const big = await makeTestCli();
    try {
      const rows = Array.from({ length: 20_000 }, (_, i) =>
        i % 2 === 0 ? `https://example.com/page/${i},bulk-${i},"t${i % 7},bulk",` : `https://example.com/page/${i},,,2099-01-01T00:00:00Z`,
      );
      const path = join(big.dir, 'big.csv');
      writeFileSync(path, csv('url,alias,tags,expires_at', ...rows));
      const started = performance.now();
      const run = await big.run('links', 'import', path);
      const seconds = (performance.now() - started) / 1000;
      console.log(`tny links import: 20,000 rows in ${seconds.toFixed(2)} s = ${Math.round(20_000 / seconds).toLocaleString('en-US')} rows/s`);
      expect(run.error).toBeUndefined();
      expect(run.out).toContain('created 20,000\n');
      expect(run.out).toContain('skipped 0\n');
      const exported = await big.run('links', 'export');
      expect(exported.out.trimEnd().split('\n')).toHaveLength(20_001);
    } finally {
      big.close();
    }
  }, 120_000);
});

describe('tny links import with KEY_STRATEGY=hash', () => {
  it('keeps one link per URL and account: a repeated URL is skipped as already shortened', async () => {
    const hashed = await makeTestCli({ KEY_STRATEGY: 'hash' });
    try {
      const path = join(hashed.dir, 'hash.csv');
      writeFileSync(path, csv('url', 'https://example.com/same', 'https://example.com/other', 'https://example.com/same'));
      const run = await hashed.run('links', 'import', path);
      expect(run.out).toContain('created 2\n');
      expect(skippedLines(run.out)).toEqual([expect.stringMatching(/^ {2}line 4: url already shortened \(ALREADY_SHORTENED\): this account already shortened the URL as "[0-9A-Za-z]{7}"$/)]);
    } finally {
      hashed.close();
    }
  });
});

describe('exit status mapping', () => {
  it('CliFailure and TnyError are what the executable turns into exit status 2', async () => {
    const cli2 = await makeTestCli();
    try {
      const missingAccount = await cli2.run('keys', 'create', '--name', 'k', '--account', 'ghost');
      expect(isTnyError(missingAccount.error)).toBe(true);
    } finally {
      cli2.close();
    }
  });
});

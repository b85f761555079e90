import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertBuilt, killAll, spawnTny, startServer, type TnyServer } from '../helpers/tny-process.js';

/** The real `tny` process (dist/main/cli.js), over HTTP. */

const TOKEN = /tny_[0-9A-Za-z]{12}_[0-9A-Za-z]{32}/g;
let root: string;
let dataDir: string;
let env: Record<string, string>;

beforeAll(() => {
  assertBuilt();
  root = mkdtempSync(join(tmpdir(), 'tny-e2e-'));
});
afterAll(async () => {
  await killAll();
  rmSync(root, { recursive: true, force: true });
});
let n = 0;
beforeEach(() => {
  dataDir = join(root, `data-${++n}`);
  env = { DATA_DIR: dataDir, LOG_LEVEL: 'info' };
});
afterEach(() => killAll());

function api(server: TnyServer, key: string, path: string, init: RequestInit = {}) {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...init.headers };
  return fetch(`${server.baseUrl}${path}`, { ...init, headers });
}

function adminKeyOf(server: TnyServer): string {
  const keys = server.stdout().match(TOKEN) ?? [];
  expect(keys).toHaveLength(1);
  return keys[0]!;
}

async function createLink(server: TnyServer, key: string, body: object): Promise<string> {
  const res = await api(server, key, '/api/v1/links', { method: 'POST', body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { data: { key: string } }).data.key;
}

async function click(server: TnyServer, key: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const res = await fetch(`${server.baseUrl}/${key}`, { redirect: 'manual' });
    expect(res.status).toBe(301);
  }
}

async function clickCount(server: TnyServer, adminKey: string, key: string): Promise<number> {
  const res = await api(server, adminKey, `/api/v1/links/${key}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { click_count: number } }).data.click_count;
}

async function stop(server: TnyServer): Promise<void> {
  server.child.kill('SIGTERM');
  expect(await server.waitExit(5_000)).toEqual({ code: 0, signal: null });
}

describe('tny serve (real process)', () => {
  it('prints the admin key once, on first start only, and never in a log line', async () => {
    const first = await startServer(env);
    const adminKey = adminKeyOf(first);
    expect((await api(first, adminKey, '/api/v1/links')).status).toBe(200);
    expect((await api(first, 'tny_000000000000_00000000000000000000000000000000', '/api/v1/links')).status).toBe(401);
    await createLink(first, adminKey, { url: 'https://example.com/logged', alias: 'logged' });
    await stop(first);

    const output = first.stdout() + first.stderr();
    expect(output.split(adminKey)).toHaveLength(2); // once in all the output
    const secret = adminKey.split('_')[2]!;
    const logLines = output.split('\n').filter((l) => l.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) expect(line).not.toContain(secret);

    const second = await startServer(env);
    expect((await api(second, adminKey, '/api/v1/links')).status).toBe(200);
    await stop(second);
    expect(second.stdout() + second.stderr()).not.toMatch(TOKEN);
  });

  it('flushes buffered clicks on SIGTERM: after a restart the count is exact', async () => {
    // A flush interval far beyond the test: only the shutdown flush can write the clicks.
    const slow = { ...env, CLICK_FLUSH_INTERVAL_MS: '600000' };
    const server = await startServer(slow);
    const adminKey = adminKeyOf(server);
    const key = await createLink(server, adminKey, { url: 'https://example.com/counted' });
    const clicks = 25;
    await click(server, key, clicks);
    expect(await clickCount(server, adminKey, key)).toBe(clicks); // in memory only, and counted by reads
    await stop(server);

    const again = await startServer(slow);
    expect(await clickCount(again, adminKey, key)).toBe(clicks);
    await stop(again);
  });

  it('kill -9 loses at most the clicks of the last flush window', async () => {
    const fast = { ...env, CLICK_FLUSH_INTERVAL_MS: '300' };
    const server = await startServer(fast);
    const adminKey = adminKeyOf(server);
    const key = await createLink(server, adminKey, { url: 'https://example.com/crash' });
    await click(server, key, 10);
    await new Promise((r) => setTimeout(r, 900)); // a few flush windows
    const flushed = await clickCount(server, adminKey, key);
    expect(flushed).toBe(10);
    await click(server, key, 15);
    server.child.kill('SIGKILL');
    expect((await server.waitExit(5_000)).signal).toBe('SIGKILL');

    const again = await startServer(fast);
    const counted = await clickCount(again, adminKey, key);
    expect(counted).toBeGreaterThanOrEqual(flushed);
    expect(counted).toBeLessThanOrEqual(25);
    console.log(`kill -9 after 25 clicks (10 flushed before): ${counted} counted after restart, ${25 - counted} lost`);
    await stop(again);
  });

  it('`tny keys create` against the DATA_DIR of a running server makes a key the server accepts', async () => {
    const server = await startServer(env);
    adminKeyOf(server);
    const cli = spawnTny(['keys', 'create', '--name', 'x'], env);
    expect(await cli.waitExit(10_000)).toEqual({ code: 0, signal: null });
    const key = cli.stdout().match(TOKEN)?.[0];
    expect(key, cli.stdout() + cli.stderr()).toBeDefined();
    const res = await api(server, key!, '/api/v1/links', { method: 'POST', body: JSON.stringify({ url: 'https://example.com/x' }) });
    expect(res.status).toBe(201);
    await stop(server);
  });

  it('a bad config exits non-zero, naming the variable', async () => {
    const proc = spawnTny(['serve'], { ...env, PORT: 'abc' });
    const exit = await proc.waitExit(10_000);
    expect(exit.code).toBe(2);
    expect(proc.stderr()).toMatch(/PORT/);
    expect(proc.stdout()).not.toMatch(TOKEN);
  });
});

describe('tny links import (real process): exit status', () => {
  it('is 0 when the import ran, even with skipped rows, and 2 for a bad file or arguments', async () => {
    // An account for the links (the admin account exists once a server has started).
    const made = spawnTny(['keys', 'create', '--name', 'owner'], env);
    expect((await made.waitExit(10_000)).code).toBe(0);
    const good = join(root, 'good.csv');
    writeFileSync(good, 'url,alias\nhttps://example.com/1,e2e-one\nnot a url,\n');
    const bad = join(root, 'bad.csv');
    writeFileSync(bad, 'url,colour\nhttps://example.com/2,red\n');

    const ran = spawnTny(['links', 'import', good, '--account', 'owner'], env);
    expect((await ran.waitExit(10_000)).code).toBe(0);
    expect(ran.stdout()).toContain('created 1\nskipped 1: invalid url 1\n');
    const refused = spawnTny(['links', 'import', bad, '--account', 'owner'], env);
    expect((await refused.waitExit(10_000)).code).toBe(2);
    expect(refused.stderr()).toMatch(/unknown column "colour"/);
    const usage = spawnTny(['links', 'import'], env);
    expect((await usage.waitExit(10_000)).code).toBe(2);
    expect(usage.stderr()).toMatch(/missing required argument 'file'/);
  });
});

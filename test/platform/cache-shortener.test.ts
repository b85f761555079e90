import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { buildApp } from '../../src/http/app.js';
import { createContainer, type Container } from '../../src/main/container.js';
import { createLogger } from '../../src/main/logger.js';
import { ensureAdminKey } from '../../src/platform/auth/manage-keys.js';
import { describeWithRedis, uniquePrefix } from '../helpers/redis.js';

/**
 * The redirect cache of several tny processes sharing one database and one Redis: here three
 * containers in one test process, each with its own connections, L1, filter and subscriber.
 */
interface Node {
  name: string;
  container: Container;
  app: FastifyInstance;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWithRedis('shortener with the two-tier cache and the Bloom filter', (url) => {
  const dir = mkdtempSync(join(tmpdir(), 'tny-cache-'));
  const prefix = uniquePrefix();
  const nodes: Node[] = [];
  let admin = '';

  async function node(name: string, env: Record<string, string> = {}): Promise<Node> {
    const config = loadConfig({
      DATA_DIR: dir,
      BASE_URL: 'http://tny.test',
      LOG_LEVEL: 'silent',
      REDIS_URL: url,
      CACHE_REDIS_PREFIX: `${prefix}cache:`,
      RATE_LIMIT_REDIS_PREFIX: `${prefix}rl:`,
      RATE_LIMIT_WRITE_BURST: '100000',
      RATE_LIMIT_WRITE_PER_SECOND: '100000',
      CLICK_FLUSH_INTERVAL_MS: '60000',
      CLICK_COMPACT_INTERVAL_MS: '0',
      ...env,
    });
    const container = await createContainer(config, createLogger('silent'));
    const app = await buildApp(container);
    await app.ready();
    const n = { name, container, app };
    nodes.push(n);
    return n;
  }

  const create = async (n: Node, body: Record<string, unknown>) => {
    const res = await n.app.inject({ method: 'POST', url: '/api/v1/links', headers: { authorization: `Bearer ${admin}` }, payload: body });
    expect(res.statusCode, res.body).toBe(201);
    return (res.json() as { data: { key: string } }).data.key;
  };
  const hop = (n: Node, key: string) => n.app.inject({ method: 'GET', url: `/${key}` });
  const bloomOf = (n: Node) => n.container.shortener.cache.details().bloom as { state: string; refused: number; keysAtLastBuild: number };

  let a: Node;
  let b: Node;
  beforeAll(async () => {
    a = await node('a');
    admin = (await ensureAdminKey(a.container.accounts, Date.now()))!;
    for (let i = 0; i < 20; i++) await create(a, { url: `https://example.com/before/${i}`, alias: `before-${i}` });
    b = await node('b'); // starts after those links exist: its filter is filled from the database
  });
  afterAll(async () => {
    for (const n of nodes.reverse()) {
      await n.app.close();
      await n.container.lifecycle.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('fills the filter from the database before serving, so existing links resolve and unknown keys are refused', async () => {
    expect(bloomOf(b).state).toBe('ready');
    expect(bloomOf(b).keysAtLastBuild).toBe(20);
    for (let i = 0; i < 20; i++) expect((await hop(b, `before-${i}`)).statusCode).toBe(301);
    const loadsBefore = (b.container.shortener.cache.details().l2 as { loads: number }).loads;
    const refusedBefore = bloomOf(b).refused;
    for (let i = 0; i < 50; i++) expect((await hop(b, `never-made-${i}`)).statusCode).toBe(404);
    expect(bloomOf(b).refused - refusedBefore).toBeGreaterThanOrEqual(48); // ~1% may be false positives
    expect((b.container.shortener.cache.details().l2 as { loads: number }).loads - loadsBefore).toBeLessThanOrEqual(2);
  });

  it('resolves on B, at once, every link just created on A', async () => {
    for (let i = 0; i < 30; i++) {
      const key = await create(a, { url: `https://example.com/fresh/${i}` });
      const res = await hop(b, key);
      expect(res.statusCode, `link ${i} (${key}) created on A, read on B`).toBe(301);
      expect(res.headers.location).toBe(`https://example.com/fresh/${i}`);
    }
  });

  it('resolves on B a link created by a third process that has no filter of its own', async () => {
    const c = await node('c', { CACHE_BLOOM: 'off' });
    expect(c.container.shortener.cache.details().bloom).toBeUndefined();
    const key = await create(c, { url: 'https://example.com/from-c', alias: 'from-c' });
    expect((await hop(b, key)).statusCode).toBe(301);
  });

  it('drops B\'s cached copy when A edits or deletes the link (pub/sub), within 100 ms', async () => {
    const key = await create(a, { url: 'https://example.com/v1', alias: 'edited' });
    expect((await hop(b, key)).headers.location).toBe('https://example.com/v1');
    expect(b.container.shortener.cache.peek(key)).not.toBeUndefined();
    const patch = await a.app.inject({
      method: 'PATCH',
      url: `/api/v1/links/${key}`,
      headers: { authorization: `Bearer ${admin}` },
      payload: { url: 'https://example.com/v2' },
    });
    expect(patch.statusCode).toBe(200);
    const started = performance.now();
    while (b.container.shortener.cache.peek(key) !== undefined && performance.now() - started < 100) await sleep(1);
    expect(b.container.shortener.cache.peek(key)).toBeUndefined();
    expect((await hop(b, key)).headers.location).toBe('https://example.com/v2');

    const del = await a.app.inject({ method: 'DELETE', url: `/api/v1/links/${key}`, headers: { authorization: `Bearer ${admin}` } });
    expect(del.statusCode).toBe(204);
    await sleep(50);
    expect((await hop(b, key)).statusCode).toBe(404); // still in the filter: the database says no
  });

  it('shares L2: a link B loaded is served to A from Redis without a database read', async () => {
    const key = await create(a, { url: 'https://example.com/shared', alias: 'shared-l2' });
    await sleep(20);
    expect((await hop(b, key)).statusCode).toBe(301); // B loads it once and stores it in L2
    const loadsBefore = (a.container.shortener.cache.details().l2 as { loads: number }).loads;
    expect((await hop(a, key)).statusCode).toBe(301);
    expect((a.container.shortener.cache.details().l2 as { loads: number; hits: number }).loads).toBe(loadsBefore);
  });

  it('reports the two tiers and the filter in /health/detailed', async () => {
    const res = await b.app.inject({ method: 'GET', url: '/health/detailed' });
    const { checks } = res.json() as { checks: Record<string, { status: string; bloom?: unknown; l2?: unknown }> };
    expect(checks.cache?.status).toBe('healthy');
    expect(checks.cache?.bloom).toMatchObject({ state: 'ready' });
    expect(checks.cache?.l2).toMatchObject({ hits: expect.any(Number) });
    expect((checks.cache as { changes?: unknown }).changes).toMatchObject({ received: expect.any(Number), gaps: 0, pendingRetries: 0 });
  });

  it('refuses CACHE_BLOOM=on without REDIS_URL, naming the variable', async () => {
    const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', CACHE_BLOOM: 'on', CLICK_COMPACT_INTERVAL_MS: '0' });
    await expect(createContainer(config, createLogger('silent'))).rejects.toThrow('CACHE_BLOOM=on needs REDIS_URL');
  });
});

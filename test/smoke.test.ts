import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from './helpers/app.js';

describe('shortener over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });
  afterAll(() => t.close());

  it('shortens a URL and redirects to it', async () => {
    const res = await t.call('POST', '/api/v1/shorten', { key: t.adminKey, body: { url: 'https://example.com/x' } });
    expect(res.statusCode).toBe(201);
    const key = res.json().data.key as string;
    expect(key).toMatch(/^[0-9A-Za-z]{7}$/);
    const hop = await t.call('GET', `/${key}`);
    expect(hop.statusCode).toBe(301);
    expect(hop.headers.location).toBe('https://example.com/x');
  });
});

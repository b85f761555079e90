import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';

/** DELETE /api/v1/accounts/{id} (202 + the saga run) and GET /api/v1/sagas/{id}, admin only. */
describe('accounts API: deletion as a saga', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ AUTH_CACHE_TTL_SECONDS: '0' });
  });
  afterAll(() => t.close());

  const idOf = async (name: string) => (await t.container.accounts.findAccountByName(name))!.id;
  const waitDone = async (location: string) => {
    for (let i = 0; i < 200; i++) {
      const res = await t.call('GET', location, { key: t.adminKey });
      const run = res.json().data as { state: string };
      if (run.state !== 'running') return res;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('the deletion did not finish');
  };

  it('answers 202 with the run, drives it in the background to done: keys stop working, links are gone; asking again gives the same run', async () => {
    const key = await t.newAccountKey('leaving');
    const keep = await t.newAccountKey('staying');
    for (const [k, alias] of [[key, 'leaving-1'], [key, 'leaving-2'], [keep, 'staying-1']] as const) {
      expect((await t.call('POST', '/api/v1/links', { key: k, body: { url: `https://example.com/${alias}`, alias } })).statusCode).toBe(201);
    }
    const id = await idOf('leaving');
    const res = await t.call('DELETE', `/api/v1/accounts/${id}`, { key: t.adminKey });
    expect(res.statusCode).toBe(202);
    expect(res.headers.location).toBe(`/api/v1/sagas/delete-account%3A${id}`);
    expect(res.json().data).toMatchObject({ id: `delete-account:${id}`, saga: 'delete-account', error: null });
    expect(res.json().data.steps[0]).toEqual({ name: 'revoke-keys', status: expect.any(String) });
    const done = await waitDone(res.headers.location as string);
    expect(done.json().data.state).toBe('done');
    expect(done.json().data.steps.every((s: { status: string }) => s.status === 'done')).toBe(true);
    expect((await t.call('GET', '/api/v1/links', { key })).statusCode).toBe(401);
    expect((await t.call('GET', '/api/v1/links/leaving-1', { key: t.adminKey })).statusCode).toBe(404);
    expect((await t.call('GET', '/leaving-2')).statusCode).toBe(404);
    expect((await t.call('GET', '/api/v1/links/staying-1', { key: keep })).statusCode).toBe(200);
    expect(await t.container.accounts.findAccountById(id)).toBeUndefined();
    const again = await t.call('DELETE', `/api/v1/accounts/${id}`, { key: t.adminKey });
    expect(again.statusCode).toBe(202);
    expect(again.json().data).toMatchObject({ id: `delete-account:${id}`, state: 'done' });
  });

  it('refuses what it must, with stable codes', async () => {
    const plain = await t.newAccountKey('plain');
    const adminId = await idOf('admin');
    const cases: [string, string, string | undefined, number, string][] = [
      ['DELETE', `/api/v1/accounts/${await idOf('plain')}`, plain, 403, 'FORBIDDEN'],
      ['DELETE', `/api/v1/accounts/${adminId}`, t.adminKey, 409, 'ACCOUNT_NOT_DELETABLE'],
      ['DELETE', '/api/v1/accounts/999999', t.adminKey, 404, 'ACCOUNT_NOT_FOUND'],
      ['DELETE', '/api/v1/accounts/abc', t.adminKey, 422, 'VALIDATION_ERROR'],
      ['DELETE', `/api/v1/accounts/${adminId}`, undefined, 401, 'UNAUTHORIZED'],
      ['GET', '/api/v1/sagas/nope', t.adminKey, 404, 'SAGA_RUN_NOT_FOUND'],
      ['GET', '/api/v1/sagas/nope', plain, 403, 'FORBIDDEN'],
    ];
    for (const [method, url, key, status, code] of cases) {
      const res = await t.call(method, url, key === undefined ? {} : { key });
      expect([method, url, res.statusCode, res.json().error?.code]).toEqual([method, url, status, code]);
    }
    expect(await t.container.accounts.findAccountByName('plain')).toBeDefined();
  });
});

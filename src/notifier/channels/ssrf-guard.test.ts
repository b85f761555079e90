import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddressRefusedError, SsrfGuard } from './ssrf-guard.js';
import { isInvalidContact } from './errors.js';

function fakeDns(table: Record<string, string[]>) {
  const calls: string[] = [];
  const resolve = async (host: string) => {
    calls.push(host);
    const list = table[host];
    if (!list) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { resolve, calls };
}

describe('SsrfGuard', () => {
  it('refuses a name when any of its addresses is private, and says why', async () => {
    const dns = fakeDns({ 'mixed.test': ['93.184.216.34', '10.0.0.5'], 'ok.test': ['93.184.216.34', '2606:4700::1'] });
    const guard = new SsrfGuard({ resolve: dns.resolve });
    await expect(guard.resolve('ok.test')).resolves.toHaveLength(2);
    const err = await guard.resolve('mixed.test').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AddressRefusedError);
    expect(isInvalidContact(err)).toBe(true);
    expect((err as AddressRefusedError).kind).toBe('private');
  });

  it('allows configured networks, including the IPv4-mapped form of an allowed IPv4 address', () => {
    const guard = new SsrfGuard({ allowedNetworks: ['127.0.0.0/8', '::1/128'] });
    expect(guard.refusal('127.0.0.1')).toBeNull();
    expect(guard.refusal('::1')).toBeNull();
    expect(guard.refusal('::ffff:127.0.0.1')).toBeNull();
    expect(guard.refusal('10.0.0.1')).toBe('private');
    expect(guard.refusal('169.254.169.254')).toBe('link-local');
    expect(new SsrfGuard().refusal('::ffff:127.0.0.1')).toBe('loopback');
  });

  it.each([
    ['http://127.0.0.1/x', 'loopback'],
    ['http://[::1]/x', 'loopback'],
    ['http://[::ffff:127.0.0.1]/x', 'loopback'],
    ['http://169.254.169.254/latest/meta-data', 'link-local'],
    ['http://0x7f.1/x', 'loopback'],
  ])('checkUrl refuses the literal %s (%s)', (url, kind) => {
    const err = (() => {
      try {
        new SsrfGuard().checkUrl(new URL(url));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AddressRefusedError);
    expect((err as AddressRefusedError).kind).toBe(kind);
  });

  it('refuses non-HTTP schemes', () => {
    expect(() => new SsrfGuard().checkUrl(new URL('file:///etc/passwd'))).toThrow(/scheme/);
  });

  describe('as an undici dispatcher', () => {
    let server: Server;
    let port: number;
    beforeAll(async () => {
      server = createServer((_req, res) => res.end('reached'));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('connects to the address it judged, and refuses a name that resolves to loopback', async () => {
      // "rebind.test" resolves to loopback; with loopback allowed the request reaches our server
      // through the guard's own resolution (no system DNS knows this name).
      const dns = fakeDns({ 'rebind.test': ['127.0.0.1'] });
      const allowing = new SsrfGuard({ allowedNetworks: ['127.0.0.0/8'], resolve: dns.resolve });
      const agent = allowing.dispatcher();
      const res = await request(`http://rebind.test:${port}/`, { dispatcher: agent });
      expect(await res.body.text()).toBe('reached');
      expect(dns.calls).toEqual(['rebind.test']);
      await agent.close();

      const refusing = new SsrfGuard({ resolve: dns.resolve });
      const strict = refusing.dispatcher();
      const err = await request(`http://rebind.test:${port}/`, { dispatcher: strict }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AddressRefusedError);
      await strict.close();
    });
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withConfigTable } from '../../scripts/render-config-table.js';
import { loadConfig } from './config.js';
import { ConfigError } from './fields.js';
import { registry } from './registry.js';

describe('loadConfig', () => {
  it('gives every default on an empty environment, frozen', () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(8080);
    expect(c.HOST).toBe('127.0.0.1');
    expect(c.BASE_URL).toBe('http://127.0.0.1:8080');
    expect(c.REDIRECT_STATUS).toBe(301);
    expect(c.KEY_STRATEGY).toBe('counter');
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('parses typed values', () => {
    const c = loadConfig({ PORT: '9000', REDIRECT_STATUS: '307', URL_BLOCKLIST: 'a.com, b.org ,', TRUST_PROXY: 'yes', CACHE_TTL_JITTER: '0.25' });
    expect(c.PORT).toBe(9000);
    expect(c.REDIRECT_STATUS).toBe(307);
    expect(c.URL_BLOCKLIST).toEqual(['a.com', 'b.org']);
    expect(c.TRUST_PROXY).toBe(true);
    expect(c.CACHE_TTL_JITTER).toBe(0.25);
    expect(c.BASE_URL).toBe('http://127.0.0.1:9000');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['REDIRECT_STATUS', '303'],
    ['KEY_STRATEGY', 'md5'],
    ['TRUST_PROXY', 'maybe'],
    ['BASE_URL', 'ftp://x'],
    ['BASE_URL', 'not a url'],
    ['DATABASE_URL', 'mysql://x'],
    ['CACHE_TTL_JITTER', '2'],
    ['NOTIFY_BREAKER_FAILURES', '0'],
    ['NOTIFY_BREAKER_OPEN_MS', '50'],
    ['NOTIFY_BREAKER_MAX_OPEN_MS', 'soon'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrowError(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrowError(new RegExp(name));
  });

  it('never echoes a database URL (it may hold a password)', () => {
    try {
      loadConfig({ DATABASE_URL: 'postgres//user:s3cret@host' });
      expect.unreachable();
    } catch (err) {
      expect(String(err)).not.toContain('s3cret');
    }
  });

  it('breaker settings: defaults 5 failures, 30 s open, 5 min max; the open time may not exceed the max', () => {
    const c = loadConfig({});
    expect([c.NOTIFY_BREAKER_FAILURES, c.NOTIFY_BREAKER_OPEN_MS, c.NOTIFY_BREAKER_MAX_OPEN_MS]).toEqual([5, 30_000, 300_000]);
    expect(loadConfig({ NOTIFY_BREAKER_OPEN_MS: '2000', NOTIFY_BREAKER_MAX_OPEN_MS: '2000' }).NOTIFY_BREAKER_MAX_OPEN_MS).toBe(2000);
    expect(() => loadConfig({ NOTIFY_BREAKER_OPEN_MS: '400000' })).toThrowError(/NOTIFY_BREAKER_OPEN_MS must not exceed NOTIFY_BREAKER_MAX_OPEN_MS/);
  });

  it('reports every bad variable at once', () => {
    expect(() => loadConfig({ PORT: 'x', LOG_LEVEL: 'loud' })).toThrowError(/PORT[\s\S]*LOG_LEVEL/);
  });
});

describe('README configuration table', () => {
  it('lists every registry variable and is current (npm run docs:config)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const name of Object.keys(registry)) expect(readme).toContain(`\`${name}\``);
    expect(withConfigTable(readme)).toBe(readme);
  });
});

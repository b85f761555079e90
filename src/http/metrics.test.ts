import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.js';

describe('Metrics', () => {
  it('exposes the hot redirect counters at scrape time, monotonically', async () => {
    const m = new Metrics([{ name: 'tny_test_gauge', help: 'a gauge', read: () => 42 }], false);
    m.redirect.ok.inc();
    m.redirect.ok.inc();
    m.redirect.missing.inc();
    let text = await m.registry.metrics();
    expect(text).toContain('tny_redirects_total{outcome="redirect"} 2');
    expect(text).toContain('tny_redirects_total{outcome="missing"} 1');
    expect(text).toContain('tny_redirects_total{outcome="gone"} 0');
    expect(text).toContain('tny_test_gauge 42');
    m.redirect.ok.inc();
    text = await m.registry.metrics();
    expect(text).toContain('tny_redirects_total{outcome="redirect"} 3');
  });
});

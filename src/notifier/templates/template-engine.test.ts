import { describe, expect, it } from 'vitest';
import { isTnyError, type TnyError } from '../../platform/errors.js';
import { localeChain } from './template.js';
import { TemplateEngine } from './template-engine.js';

const engine = new TemplateEngine({ maxSourceChars: 2000, renderMs: 100, memory: 100_000 });
const tpl = (body: string, extra: { subject?: string; html?: string } = {}) => ({
  subject: extra.subject ?? null,
  body,
  html: extra.html ?? null,
  locale: 'en',
});

async function failure(p: Promise<unknown>): Promise<TnyError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isTnyError(err)) throw new Error(`expected a TnyError, got ${String(err)}`);
  return err;
}

describe('TemplateEngine', () => {
  it('renders subject, text and HTML; only the HTML part escapes output', async () => {
    const data = { user: { name: 'Ada <admin>' }, count: 3 };
    const out = await engine.render(
      tpl('Hi {{ user.name }}, {{ count }} new', { subject: 'For {{ user.name | upcase }}', html: '<p>Hi {{ user.name }}</p>' }),
      data,
    );
    expect(out).toEqual({ subject: 'For ADA <ADMIN>', body: 'Hi Ada <admin>, 3 new', html: '<p>Hi Ada &lt;admin&gt;</p>', locale: 'en' });
  });

  it('lists every missing variable path as a 422', async () => {
    const err = await failure(engine.render(tpl('{{ user.name }} {{ user.email }} {{ code }} {{ items[0].title }}'), { user: { name: 'x' }, items: [] }));
    expect(err.code).toBe('TEMPLATE_VARIABLES_MISSING');
    expect(err.status).toBe(422);
    expect(err.details?.map((d) => d.field).sort()).toEqual(['data.code', 'data.items.0.title', 'data.user.email']);
  });

  it('lets {% if %} test an optional variable, but not print it', async () => {
    expect((await engine.render(tpl('a{% if nick %}({{ nick }}){% endif %}b'), {})).body).toBe('ab');
    expect((await engine.render(tpl('a{% if nick %}({{ nick }}){% endif %}b'), { nick: 'N' })).body).toBe('a(N)b');
  });

  it('never reads inherited properties', async () => {
    const err = await failure(engine.render(tpl('{{ user.constructor }}'), { user: {} }));
    expect(err.code).toBe('TEMPLATE_VARIABLES_MISSING');
  });

  it.each([
    ['unknown filter', '{{ x | shell }}'],
    ['unclosed tag', '{% if x %}'],
    ['include (no file system)', '{% include "secrets" %}'],
    ['render (no file system)', "{% render 'x' %}"],
    ['layout (no file system)', "{% layout 'x' %}"],
  ])('refuses a template with %s at check time', (_name, source) => {
    const problems = engine.check({ subject: null, body: source, html: null });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.field).toBe('body');
  });

  it('refuses a template longer than the limit', () => {
    expect(engine.check({ subject: 'x'.repeat(2001), body: 'ok', html: null })).toEqual([{ field: 'subject', message: 'at most 2000 characters' }]);
  });

  it('stops a loop over a huge range on the memory limit', async () => {
    const err = await failure(engine.render(tpl('{% for i in (1..100000000) %}{{ i }}{% endfor %}'), {}));
    expect(err.code).toBe('TEMPLATE_RENDER_LIMIT');
  });

  it('stops nested loops on the time limit', async () => {
    const started = Date.now();
    const err = await failure(
      engine.render(tpl('{% for i in (1..1000) %}{% for j in (1..1000) %}{% for k in (1..1000) %}x{% endfor %}{% endfor %}{% endfor %}'), {}),
    );
    expect(err.code).toBe('TEMPLATE_RENDER_LIMIT');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('localeChain', () => {
  it.each([
    ['de-AT', 'en', ['de-AT', 'de', 'en']],
    ['de-Latn-AT', 'en-GB', ['de-Latn-AT', 'de-Latn', 'de', 'en-GB', 'en']],
    ['en-US', 'en', ['en-US', 'en']],
    ['en', 'en', ['en']],
  ])('%s with default %s', (locale, fallback, chain) => {
    expect(localeChain(locale, fallback)).toEqual(chain);
  });
  it('the render budget measures each render alone: 2,000 concurrent renders all fit a 500 ms budget', async () => {
    // Each render takes about a millisecond. Rendered asynchronously they interleave, so each
    // one's wall clock includes all the others' work (seconds here) and valid sends failed the
    // budget under load. The budget is generous so that only interleaving, not a slow CI, trips it.
    const tight = new TemplateEngine({ maxSourceChars: 2000, renderMs: 500, memory: 1_000_000 });
    const t = tpl('{% for i in (1..100) %}{{ i }},{% endfor %} {{ name }}');
    const results = await Promise.allSettled(Array.from({ length: 2000 }, () => tight.render(t, { name: 'x' })));
    expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason?.code))).toEqual([]);
  }, 30_000);
});

import { Liquid, type Template as LiquidTemplate } from 'liquidjs';
import { TnyError, type FieldError } from '../../platform/errors.js';
import type { RenderedMessage, Template, TemplateParts } from './template.js';

export interface TemplateLimits {
  /** Longest template source (characters) accepted, also LiquidJS's parseLimit. */
  maxSourceChars: number;
  /** Wall-clock budget of one render (ms), LiquidJS's renderLimit. */
  renderMs: number;
  /** Allocation budget of one render (array items and string characters), LiquidJS's memoryLimit. */
  memory: number;
}

export const DEFAULT_TEMPLATE_LIMITS: TemplateLimits = { maxSourceChars: 65_536, renderMs: 100, memory: 1_000_000 };

/** Tags that reach for other templates: tny templates are self-contained, with no file system. */
const FILE_TAGS = ['include', 'render', 'layout', 'block'];

/**
 * LiquidJS, locked down: no file system (no include/render/layout, an empty in-memory
 * template map), only own properties of the data, unknown filters are a parse error and an
 * undefined variable a render error (`{% if x %}` may still test for an optional one), and
 * every render is bounded in time and memory. A `{% for %}` over a huge range fails fast on
 * the memory limit; nested loops hit the time limit.
 */
export class TemplateEngine {
  private readonly plain: Liquid;
  private readonly escaping: Liquid;

  constructor(private readonly limits: TemplateLimits = DEFAULT_TEMPLATE_LIMITS) {
    const options = {
      strictVariables: true,
      strictFilters: true,
      lenientIf: true,
      ownPropertyOnly: true,
      templates: {},
      parseLimit: limits.maxSourceChars,
      renderLimit: limits.renderMs,
      memoryLimit: limits.memory,
    };
    this.plain = new Liquid(options);
    this.escaping = new Liquid({ ...options, outputEscape: 'escape' });
    for (const engine of [this.plain, this.escaping]) for (const tag of FILE_TAGS) delete engine.tags[tag];
  }

  /** Problems with the sources of a template (size, syntax, unknown tags or filters). */
  check(parts: TemplateParts): FieldError[] {
    const problems: FieldError[] = [];
    for (const [field, source] of Object.entries(parts) as [string, string | null][]) {
      if (source === null) continue;
      if (source.length > this.limits.maxSourceChars) {
        problems.push({ field, message: `at most ${this.limits.maxSourceChars} characters` });
        continue;
      }
      try {
        this.plain.parse(source);
      } catch (err) {
        problems.push({ field, message: firstLine(err) });
      }
    }
    return problems;
  }

  /**
   * Renders every part with `data`. Missing variables are TEMPLATE_VARIABLES_MISSING listing
   * every path the template reads that `data` lacks (paths read only inside an `if` are listed
   * too when something else was missing); a broken template is TEMPLATE_INVALID and a render
   * over its limits TEMPLATE_RENDER_LIMIT. All are 422: the request, not tny, must change.
   */
  async render(template: Pick<Template, 'subject' | 'body' | 'html' | 'locale'>, data: Record<string, unknown>): Promise<RenderedMessage> {
    const problems = this.check(template);
    if (problems.length > 0) throw new TnyError('TEMPLATE_INVALID', { details: problems });
    const parts = [
      [this.plain, template.subject],
      [this.plain, template.body],
      [this.escaping, template.html],
    ] as const;
    const parsed = parts.map(([engine, source]) => (source === null ? null : { engine, parsed: engine.parse(source) }));
    const out: (string | null)[] = [];
    for (const part of parsed) {
      try {
        // Synchronous: the render's wall-clock budget then measures this render alone. An async
        // render interleaves with every other request's work, so under load a trivial template
        // ran over its budget and a valid send was refused with TEMPLATE_RENDER_LIMIT.
        out.push(part && String(part.engine.renderSync(part.parsed, data)));
      } catch (err) {
        throw this.renderFailure(parsed, data, err);
      }
    }
    return { subject: out[0]!, body: out[1] ?? '', html: out[2]!, locale: template.locale };
  }

  private renderFailure(parsed: ({ engine: Liquid; parsed: LiquidTemplate[] } | null)[], data: Record<string, unknown>, err: unknown): TnyError {
    const name = (err as { name?: string }).name;
    const message = firstLine(err);
    if (name === 'UndefinedVariableError') {
      // Every part's missing paths, so one answer lists them all.
      const missing = parsed.flatMap((part) =>
        part
          ? part.engine
              .globalVariableSegmentsSync(part.parsed)
              .filter((segments) => !resolves(data, segments))
              .map((segments) => segments.join('.'))
          : [],
      );
      const named = /undefined variable: ([^,]+)/.exec(message)?.[1];
      if (named && !missing.some((m) => m === named || m.startsWith(`${named}.`))) missing.push(named);
      const unique = [...new Set(missing)];
      return new TnyError('TEMPLATE_VARIABLES_MISSING', {
        message: `the template needs ${unique.join(', ')}`,
        details: unique.map((path) => ({ field: `data.${path}`, message: 'is used by the template but missing' })),
      });
    }
    if (/limit exceeded/.test(message)) return new TnyError('TEMPLATE_RENDER_LIMIT', { message: `template ${message}` });
    return new TnyError('TEMPLATE_INVALID', { message: `template failed to render: ${message}` });
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);
}

/** True when the path (e.g. ['user', 'name'] or ['items', 0]) exists in `data` as own properties. */
function resolves(data: unknown, segments: readonly unknown[]): boolean {
  let current: unknown = data;
  for (const segment of segments) {
    if (typeof segment !== 'string' && typeof segment !== 'number') return true; // a computed index: cannot tell
    if (current === null || typeof current !== 'object' || !Object.prototype.hasOwnProperty.call(current, segment)) return false;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current !== undefined;
}

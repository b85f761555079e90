import type { Actor } from '../../platform/auth/actor.js';
import { TnyError, validationError, type FieldError } from '../../platform/errors.js';
import { isChannel, type ChannelName } from '../channel-names.js';
import type { NotifierContext } from '../context.js';
import { checkLimit, decodeKeyCursor, encodeKeyCursor, toPage, type Page } from '../cursor.js';
import { canonicalLocale } from '../locale-and-zone.js';
import { localeChain, TEMPLATE_NAME_PATTERN, type RenderedMessage, type Template, type TemplateId, type TemplateParts } from '../templates/template.js';

function templateNotFound(name: string, channel: string, locale: string): TnyError {
  return new TnyError('TEMPLATE_NOT_FOUND', { message: `no template "${name}" for ${channel} in ${locale} or its fallbacks` });
}

/** The checked (name, channel, locale) of a path, or a 422 naming what is wrong. */
export function checkTemplateId(name: string, channel: string, locale: string): TemplateId & { channel: ChannelName } {
  const problems: FieldError[] = [];
  if (!TEMPLATE_NAME_PATTERN.test(name)) problems.push({ field: 'name', message: 'must be 1–100 of a-z 0-9 _ . - starting with a letter or digit' });
  if (!isChannel(channel)) problems.push({ field: 'channel', message: `unknown channel "${channel.slice(0, 32)}"` });
  const canonical = canonicalLocale(locale);
  if (canonical === undefined) problems.push({ field: 'locale', message: 'must be a BCP 47 language tag, e.g. de-AT' });
  if (problems.length > 0) throw validationError(problems);
  return { name, channel: channel as ChannelName, locale: canonical! };
}

/** Creates or replaces one variant; the sources are parsed first, so a broken one is never stored. */
export async function putTemplate(
  ctx: NotifierContext,
  actor: Actor,
  id: { name: string; channel: string; locale: string },
  parts: TemplateParts,
): Promise<{ template: Template; created: boolean }> {
  const checkedId = checkTemplateId(id.name, id.channel, id.locale);
  const problems = ctx.templates.check(parts);
  if (problems.length > 0) throw new TnyError('TEMPLATE_INVALID', { details: problems, message: `${problems[0]!.field}: ${problems[0]!.message}` });
  return ctx.stores.templates.put(actor.accountId, checkedId, parts, ctx.clock.now());
}

export async function getTemplate(ctx: NotifierContext, actor: Actor, id: { name: string; channel: string; locale: string }): Promise<Template> {
  const checkedId = checkTemplateId(id.name, id.channel, id.locale);
  const template = await ctx.stores.templates.find(actor.accountId, checkedId);
  if (!template) throw new TnyError('TEMPLATE_NOT_FOUND', { message: `no template "${id.name}" for ${id.channel} in ${checkedId.locale}` });
  return template;
}

export async function deleteTemplate(ctx: NotifierContext, actor: Actor, id: { name: string; channel: string; locale: string }): Promise<void> {
  const checkedId = checkTemplateId(id.name, id.channel, id.locale);
  if (!(await ctx.stores.templates.delete(actor.accountId, checkedId))) {
    throw new TnyError('TEMPLATE_NOT_FOUND', { message: `no template "${id.name}" for ${id.channel} in ${checkedId.locale}` });
  }
}

export async function listTemplates(
  ctx: NotifierContext,
  actor: Actor,
  input: { name?: string; limit?: number; cursor?: string },
): Promise<Page<Template>> {
  const limit = checkLimit(input.limit);
  let after: TemplateId | null = null;
  if (input.cursor !== undefined) {
    const [name, channel, locale] = decodeKeyCursor('templates', input.cursor, 3) as [string, string, string];
    after = { name, channel: channel as ChannelName, locale };
  }
  const rows = await ctx.stores.templates.list(actor.accountId, { name: input.name, after, limit: limit + 1 });
  return toPage(rows, limit, (last) => encodeKeyCursor('templates', [last.name, last.channel, last.locale]));
}

/**
 * Finds the template along the locale chain (de-AT → de → default locale) and renders it: what
 * the send pipeline does, callable on its own to preview a template with sample data.
 */
export async function renderTemplate(
  ctx: NotifierContext,
  actor: Actor,
  input: { name: string; channel: string; locale: string; data: Record<string, unknown> },
): Promise<RenderedMessage> {
  const id = checkTemplateId(input.name, input.channel, input.locale);
  const template = await ctx.stores.templates.findBest(actor.accountId, id.name, id.channel, localeChain(id.locale, ctx.defaultLocale));
  if (!template) throw templateNotFound(id.name, id.channel, id.locale);
  return ctx.templates.render(template, input.data);
}

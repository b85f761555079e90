import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { NotifierContext } from '../../notifier/context.js';
import { createCategory, deleteCategory, getCategory, listCategories, replaceCategory } from '../../notifier/use-cases/categories.js';
import { deleteTemplate, getTemplate, listTemplates, putTemplate, renderTemplate } from '../../notifier/use-cases/templates.js';
import { ok, page } from '../envelope.js';
import { actorOf } from '../hooks/authenticate.js';
import * as S from '../schemas.js';
import { categoryDto, templateDto } from './notifier-dto.js';
import * as N from './notifier-schemas.js';

const security: Record<string, string[]>[] = [{ bearer: [] }, { apiKey: [] }];
const errors = S.errorResponses;

/** /api/v1/categories and /api/v1/templates, with a render preview. */
export function notifierConfigRoutes(app: FastifyInstance, ctx: NotifierContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['categories'];

  r.post('/api/v1/categories', {
    schema: { tags, security, summary: 'Create a category', body: N.CategoryCreateBody, response: { 201: S.success(N.Category), ...errors } },
    handler: async (request, reply) => {
      const { name, ...fields } = request.body;
      return reply.code(201).send(ok(categoryDto(await createCategory(ctx, actorOf(request), name, fields))));
    },
  });

  r.get('/api/v1/categories', {
    schema: { tags, security, summary: 'List categories', querystring: N.PageQuery, response: { 200: S.list(N.Category), ...errors } },
    handler: async (request) => {
      const result = await listCategories(ctx, actorOf(request), request.query);
      return page(result.items.map(categoryDto), result.nextCursor, result.limit);
    },
  });

  r.get('/api/v1/categories/:name', {
    schema: { tags, security, summary: 'Get a category', params: N.CategoryParams, response: { 200: S.success(N.Category), ...errors } },
    handler: async (request) => ok(categoryDto(await getCategory(ctx, actorOf(request), request.params.name))),
  });

  r.put('/api/v1/categories/:name', {
    schema: {
      tags,
      security,
      summary: 'Replace a category (fields left out go back to their defaults)',
      params: N.CategoryParams,
      body: N.CategoryPutBody,
      response: { 200: S.success(N.Category), ...errors },
    },
    handler: async (request) => ok(categoryDto(await replaceCategory(ctx, actorOf(request), request.params.name, request.body))),
  });

  r.delete('/api/v1/categories/:name', {
    schema: { tags, security, summary: 'Delete a category', params: N.CategoryParams, response: { 204: Type.Null(), ...errors } },
    handler: async (request, reply) => {
      await deleteCategory(ctx, actorOf(request), request.params.name);
      return reply.code(204).send(null);
    },
  });

  const ttags = ['templates'];
  r.get('/api/v1/templates', {
    schema: { tags: ttags, security, summary: 'List templates', querystring: N.TemplateListQuery, response: { 200: S.list(N.Template), ...errors } },
    handler: async (request) => {
      const result = await listTemplates(ctx, actorOf(request), request.query);
      return page(result.items.map(templateDto), result.nextCursor, result.limit);
    },
  });

  r.put('/api/v1/templates/:name/:channel/:locale', {
    schema: {
      tags: ttags,
      security,
      summary: 'Create or replace a template variant',
      params: N.TemplateParams,
      body: N.TemplateBody,
      response: { 200: S.success(N.Template), 201: S.success(N.Template), ...errors },
    },
    handler: async (request, reply) => {
      const b = request.body;
      const { template, created } = await putTemplate(ctx, actorOf(request), request.params, { subject: b.subject ?? null, body: b.body, html: b.html ?? null });
      return reply.code(created ? 201 : 200).send(ok(templateDto(template)));
    },
  });

  r.get('/api/v1/templates/:name/:channel/:locale', {
    schema: { tags: ttags, security, summary: 'Get a template variant', params: N.TemplateParams, response: { 200: S.success(N.Template), ...errors } },
    handler: async (request) => ok(templateDto(await getTemplate(ctx, actorOf(request), request.params))),
  });

  r.delete('/api/v1/templates/:name/:channel/:locale', {
    schema: { tags: ttags, security, summary: 'Delete a template variant', params: N.TemplateParams, response: { 204: Type.Null(), ...errors } },
    handler: async (request, reply) => {
      await deleteTemplate(ctx, actorOf(request), request.params);
      return reply.code(204).send(null);
    },
  });

  r.post('/api/v1/templates/:name/render', {
    schema: {
      tags: ttags,
      security,
      summary: 'Render a template with sample data (locale fallback as at send time)',
      params: N.TemplateNameParams,
      body: N.RenderBody,
      response: { 200: S.success(N.Rendered), ...errors },
    },
    handler: async (request) => {
      const { channel, locale, data } = request.body;
      return ok(await renderTemplate(ctx, actorOf(request), { name: request.params.name, channel, locale, data: data ?? {} }));
    },
  });
}

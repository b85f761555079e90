import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { createLink } from '../../shortener/use-cases/create-link.js';
import { deleteLink } from '../../shortener/use-cases/delete-link.js';
import { getLink } from '../../shortener/use-cases/get-link.js';
import { linkStats } from '../../shortener/use-cases/link-stats.js';
import { listLinks } from '../../shortener/use-cases/list-links.js';
import { updateLink } from '../../shortener/use-cases/update-link.js';
import type { AppDeps } from '../deps.js';
import { ok, page } from '../envelope.js';
import { actorOf } from '../hooks/authenticate.js';
import { linkDto, linkInput } from '../link-dto.js';
import * as S from '../schemas.js';

const tags = ['links'];
const security: Record<string, string[]>[] = [{ bearer: [] }, { apiKey: [] }];

/** /api/v1/shorten (the chapter's endpoint) and /api/v1/links: thin over the use cases. */
export function linkRoutes(app: FastifyInstance, deps: AppDeps): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const ctx = deps.shortener;
  const base = deps.config.BASE_URL;
  const created = { 200: S.success(S.Link), 201: S.success(S.Link), ...S.errorResponses };

  for (const [path, summary] of [
    ['/api/v1/shorten', 'Shorten a URL (chapter §11.1)'],
    ['/api/v1/links', 'Create a link'],
  ] as const) {
    r.post(path, {
      schema: { tags, security, summary, body: S.LinkBody, response: created },
      handler: async (request, reply) => {
        const result = await createLink(ctx, actorOf(request), linkInput(request.body));
        return reply.code(result.created ? 201 : 200).send(ok(linkDto(result.link, base)));
      },
    });
  }

  r.get('/api/v1/links', {
    schema: { tags, security, summary: 'List links', querystring: S.ListQuery, response: { 200: S.list(S.Link), ...S.errorResponses } },
    handler: async (request) => {
      const q = request.query;
      const result = await listLinks(ctx, actorOf(request), {
        limit: q.limit,
        cursor: q.cursor,
        tag: q.tag,
        q: q.q,
        createdAfter: q.created_after,
        createdBefore: q.created_before,
        sort: q.sort,
        order: q.order,
      });
      return page(result.items.map((l) => linkDto(l, base)), result.nextCursor, result.limit);
    },
  });

  r.get('/api/v1/links/:key', {
    schema: { tags, security, summary: 'Get a link', params: S.KeyParams, response: { 200: S.success(S.Link), ...S.errorResponses } },
    handler: async (request) => ok(linkDto(await getLink(ctx, actorOf(request), request.params.key), base)),
  });

  r.patch('/api/v1/links/:key', {
    schema: {
      tags,
      security,
      summary: 'Change some fields of a link',
      params: S.KeyParams,
      body: S.LinkPatchBody,
      response: { 200: S.success(S.Link), ...S.errorResponses },
    },
    handler: async (request) =>
      ok(linkDto(await updateLink(ctx, actorOf(request), request.params.key, linkInput(request.body), 'patch'), base)),
  });

  r.put('/api/v1/links/:key', {
    schema: {
      tags,
      security,
      summary: 'Replace a link (fields left out go back to their defaults)',
      params: S.KeyParams,
      body: S.LinkBody,
      response: { 200: S.success(S.Link), ...S.errorResponses },
    },
    handler: async (request) =>
      ok(linkDto(await updateLink(ctx, actorOf(request), request.params.key, linkInput(request.body), 'put'), base)),
  });

  r.delete('/api/v1/links/:key', {
    schema: { tags, security, summary: 'Delete a link', params: S.KeyParams, response: { 204: Type.Null(), ...S.errorResponses } },
    handler: async (request, reply) => {
      await deleteLink(ctx, actorOf(request), request.params.key);
      return reply.code(204).send(null);
    },
  });

  r.get('/api/v1/links/:key/stats', {
    schema: {
      tags,
      security,
      summary: 'Clicks per day, by referrer, browser and OS, humans vs bots',
      params: S.KeyParams,
      querystring: S.StatsQuery,
      response: { 200: S.success(S.Stats), ...S.errorResponses },
    },
    handler: async (request) => {
      const { clickCount, ...stats } = await linkStats(ctx, actorOf(request), request.params.key, request.query);
      return ok({ ...stats, click_count: clickCount });
    },
  });
}

import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';

/** Prometheus metrics and the OpenAPI document. */
export function metaRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

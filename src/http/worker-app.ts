import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { AppDeps } from './deps.js';
import { mapError } from './error-mapper.js';
import { healthRoutes } from './routes/health.js';

/**
 * The HTTP side of a `--role worker` process: `/health`, `/health/detailed` and `/metrics`
 * only, so load balancers and Prometheus can watch it; everything else (the API, redirects,
 * docs) answers 404 with the usual envelope. Never listens itself.
 */
export async function buildWorkerApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: deps.logger as unknown as FastifyBaseLogger, bodyLimit: 1024 });
  app.setErrorHandler((err, request, reply) => {
    const mapped = mapError(err);
    if (mapped.internal) request.log.error({ err }, 'request failed');
    return reply.code(mapped.status).headers(mapped.headers).send(mapped.body);
  });
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).send({ status: 'error', error: { code: 'NOT_FOUND', message: 'This is a worker process: it serves /health, /health/detailed and /metrics only.' } }),
  );
  healthRoutes(app, deps);
  app.get('/metrics', async (_request, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
  await app.ready();
  return app;
}

import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AppDeps } from './deps.js';
import { mapError } from './error-mapper.js';
import { authenticateHook } from './hooks/authenticate.js';
import { idempotencyHooks } from './hooks/idempotency.js';
import { writeLimitHooks } from './hooks/rate-limit.js';
import { accountRoutes } from './routes/accounts.js';
import { healthRoutes } from './routes/health.js';
import { linkRoutes } from './routes/links.js';
import { metaRoutes } from './routes/meta.js';
import { notifierConfigRoutes } from './routes/notifier-config.js';
import { notifierDeliveryRoutes } from './routes/notifier-deliveries.js';
import { notifierNotificationRoutes } from './routes/notifier-notifications.js';
import { notifierInboxRoutes } from './routes/notifier-inbox.js';
import { notifierRecipientRoutes } from './routes/notifier-recipients.js';
import { redirectRoutes } from './routes/redirect.js';
import { createRedirectHandler, KEY_PATTERN } from './redirect-handler.js';
import { strictBodyValidator } from './validation.js';

/** First path segments of tny's own routes: nobody may take them as an alias. */
export const ROUTE_WORDS = ['api', 'docs', 'health', 'metrics', 'openapi.json'];

/**
 * Builds the HTTP app without listening (tests use `inject()`; main/ calls `listen`).
 * Routes are thin: parse, call a use case, shape the envelope.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const redirect = createRedirectHandler({
    shortener: deps.shortener,
    metrics: deps.metrics,
    logger: deps.logger,
    trustProxy: config.TRUST_PROXY,
    redirectLimiter: deps.limiters.redirectIp,
  });
  const routeWords = new Set(ROUTE_WORDS);
  const app = Fastify({
    // The fast path: GET/HEAD of a bare key goes to the redirect handler before routing.
    serverFactory: (handler) =>
      createServer((req, res) => {
        const key = fastPathKey(req.method, req.url);
        if (key !== undefined && !routeWords.has(key)) redirect.handle(req, res, key, true);
        else handler(req, res);
      }),
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    bodyLimit: config.BODY_LIMIT,
    trustProxy: config.TRUST_PROXY,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,100}$/.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true } },
    schemaController: { compilersFactory: { buildValidator: strictBodyValidator() } },
    routerOptions: { maxParamLength: 200 },
    // Errors raised by routing itself (a bad %-encoding, an over-long parameter) skip the
    // error handler; without this they would answer Fastify's own JSON shape.
    frameworkErrors: (err, _request, reply) => {
      const mapped = mapError(err);
      return (reply as FastifyReply).code(mapped.status).headers(mapped.headers).send(mapped.body);
    },
  });

  app.setErrorHandler((err, request, reply) => {
    const mapped = mapError(err);
    if (mapped.internal) request.log.error({ err }, 'request failed');
    return reply.code(mapped.status).headers(mapped.headers).send(mapped.body);
  });
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).send({ status: 'error', error: { code: 'NOT_FOUND', message: 'Nothing is here.' } }),
  );
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route === '/:key' || route === undefined) return;
    deps.metrics.httpDuration.labels(request.method, route, String(reply.statusCode)).observe(reply.elapsedTime / 1000);
    request.log.info({ method: request.method, url: route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'tny', version: '1', description: 'Short links with analytics (chapter §11.1).' },
      servers: [{ url: config.BASE_URL }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  healthRoutes(app, deps);
  metaRoutes(app, deps);

  await app.register(async (api) => {
    // The API takes JSON only: Fastify's built-in text/plain parser would let such bodies
    // reach validation (422) instead of being refused as the wrong content type (415).
    api.removeContentTypeParser('text/plain');
    const limits = writeLimitHooks(deps.limiters.writeIp, deps.limiters.writeKey, deps.metrics);
    const idempotency = idempotencyHooks(deps.idempotency, deps.shortener.clock, config.IDEMPOTENCY_TTL_SECONDS * 1000);
    api.addHook('onRequest', limits.beforeAuth);
    api.addHook('onRequest', authenticateHook(deps.auth));
    api.addHook('onRequest', limits.afterAuth);
    api.addHook('preHandler', idempotency.preHandler);
    api.addHook('onSend', idempotency.onSend);
    api.addHook('onResponse', idempotency.onResponse);
    linkRoutes(api, deps);
    if (deps.notifier) {
      notifierRecipientRoutes(api, deps.notifier);
      notifierConfigRoutes(api, deps.notifier);
    }
    if (deps.notifications) {
      notifierNotificationRoutes(api, deps.notifications, config.IDEMPOTENCY_TTL_SECONDS * 1000);
      notifierDeliveryRoutes(api, deps.notifications);
    }
    if (deps.inbox) notifierInboxRoutes(api, deps.inbox);
    if (deps.accountAdmin) accountRoutes(api, deps.accountAdmin, deps.logger);
  });

  redirectRoutes(app, deps, redirect);
  return app;
}

/** The key of `GET|HEAD /{key}[?query]`, or undefined for anything else. */
export function fastPathKey(method: string | undefined, url: string | undefined): string | undefined {
  if ((method !== 'GET' && method !== 'HEAD') || url === undefined || url.charCodeAt(0) !== 47) return undefined;
  const q = url.indexOf('?');
  const key = q === -1 ? url.slice(1) : url.slice(1, q);
  return KEY_PATTERN.test(key) ? key : undefined;
}

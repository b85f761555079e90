import type { FastifyInstance } from 'fastify';
import { isTnyError } from '../../platform/errors.js';
import { unlockLink } from '../../shortener/use-cases/unlock-link.js';
import type { AppDeps } from '../deps.js';
import { limited } from '../hooks/rate-limit.js';
import { KEY_PATTERN, sendRedirectError, type RedirectHandler } from '../redirect-handler.js';

/**
 * GET/HEAD /{key} through Fastify (the server's fast path calls the same handler before
 * routing), and POST /{key}, the password form, rate limited per link and client IP.
 */
export function redirectRoutes(app: FastifyInstance, deps: AppDeps, redirect: RedirectHandler): void {
  app.get<{ Params: { key: string } }>('/:key', { schema: { hide: true } }, (request, reply) => {
    reply.hijack();
    redirect.handle(request.raw, reply.raw, request.params.key);
  });

  // The form posts application/x-www-form-urlencoded; only this route accepts it.
  app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    scope.post<{ Params: { key: string }; Body: { password?: unknown } | null }>(
      '/:key',
      { schema: { hide: true } },
      async (request, reply) => {
        const { key } = request.params;
        if (KEY_PATTERN.test(key)) {
          const d = await deps.limiters.password.consume(`password:${key}:${request.ip}`);
          if (!d.allowed) {
            deps.metrics.rateLimited.labels('password').inc();
            throw limited(d);
          }
        }
        const body = request.body;
        const password = body && typeof body.password === 'string' ? body.password : '';
        const click = { count: true, query: '', referer: request.headers.referer, userAgent: request.headers['user-agent'] };
        reply.hijack();
        try {
          const r = KEY_PATTERN.test(key) ? await unlockLink(deps.shortener, key, password, click) : { kind: 'missing' as const };
          redirect.respond(request.raw, reply.raw, r, key);
        } catch (err) {
          if (isTnyError(err) && err.code === 'INVALID_PASSWORD') {
            redirect.respond(request.raw, reply.raw, { kind: 'password', key }, key, 'Wrong password. Try again.');
          } else {
            request.log.error({ err }, 'password check failed');
            sendRedirectError(request.raw, reply.raw, 'INTERNAL_ERROR');
          }
        }
        return reply;
      },
    );
  });
}

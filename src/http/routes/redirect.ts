import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CATALOGUE, isTnyError, type ErrorCode } from '../../platform/errors.js';
import { resolveLink, type ClickContext, type Resolution } from '../../shortener/use-cases/resolve-link.js';
import { unlockLink } from '../../shortener/use-cases/unlock-link.js';
import type { AppDeps } from '../deps.js';
import { errorPage, HTML_CSP, passwordPage } from '../html.js';
import { limited } from '../hooks/rate-limit.js';

const KEY = /^[A-Za-z0-9_-]{1,64}$/;

const GONE_CODE: Record<'expired' | 'disabled' | 'click_limit', ErrorCode> = {
  expired: 'LINK_EXPIRED',
  disabled: 'LINK_DISABLED',
  click_limit: 'LINK_CLICK_LIMIT_REACHED',
};

/** Browsers get HTML; anything that does not ask for HTML gets the JSON envelope. */
function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

function clickOf(request: FastifyRequest): ClickContext {
  const q = request.url.indexOf('?');
  return {
    query: q === -1 ? '' : request.url.slice(q + 1),
    referer: request.headers.referer,
    userAgent: request.headers['user-agent'],
  };
}

function sendError(request: FastifyRequest, reply: FastifyReply, code: ErrorCode, message?: string) {
  const { status, message: fallback } = ERROR_CATALOGUE[code];
  reply.code(status).header('cache-control', 'no-store');
  if (wantsHtml(request)) {
    return reply.type('text/html; charset=utf-8').header('content-security-policy', HTML_CSP).send(errorPage(fallback, message ?? fallback));
  }
  return reply.type('application/json; charset=utf-8').send({ status: 'error', error: { code, message: message ?? fallback } });
}

function answer(deps: AppDeps, request: FastifyRequest, reply: FastifyReply, r: Resolution, key: string, error?: string) {
  const counters = deps.metrics.redirect;
  switch (r.kind) {
    case 'redirect':
      counters.ok.inc();
      return reply.code(r.status).header('location', r.location).header('cache-control', r.cacheControl).send();
    case 'missing':
      counters.missing.inc();
      return sendError(request, reply, 'LINK_NOT_FOUND');
    case 'gone':
      counters.gone.inc();
      return sendError(request, reply, GONE_CODE[r.reason]);
    case 'password':
      counters.password.inc();
      if (!wantsHtml(request)) return sendError(request, reply, error ? 'INVALID_PASSWORD' : 'PASSWORD_REQUIRED');
      return reply
        .code(error ? 401 : 200)
        .header('cache-control', 'no-store')
        .header('content-security-policy', HTML_CSP)
        .type('text/html; charset=utf-8')
        .send(passwordPage(key, error));
  }
}

/** GET/HEAD /{key}: the redirect hot path. POST /{key}: the password form. */
export function redirectRoutes(app: FastifyInstance, deps: AppDeps): void {
  const ctx = deps.shortener;

  app.get<{ Params: { key: string } }>('/:key', { schema: { hide: true } }, async (request, reply) => {
    const { key } = request.params;
    if (!KEY.test(key)) return answer(deps, request, reply, { kind: 'missing' }, key);
    if (deps.limiters.redirectIp) {
      const d = await deps.limiters.redirectIp.consume(`redirect:${request.ip}`);
      if (!d.allowed) {
        deps.metrics.redirect.limited.inc();
        throw limited(d);
      }
    }
    return answer(deps, request, reply, await resolveLink(ctx, key, clickOf(request)), key);
  });

  // The form posts application/x-www-form-urlencoded; only this route accepts it.
  app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    scope.post<{ Params: { key: string }; Body: { password?: unknown } }>(
      '/:key',
      { schema: { hide: true } },
      async (request, reply) => {
        const { key } = request.params;
        if (!KEY.test(key)) return answer(deps, request, reply, { kind: 'missing' }, key);
        const d = await deps.limiters.password.consume(`password:${key}:${request.ip}`);
        if (!d.allowed) {
          deps.metrics.rateLimited.labels('password').inc();
          throw limited(d);
        }
        const password = typeof request.body?.password === 'string' ? request.body.password : '';
        try {
          return answer(deps, request, reply, await unlockLink(ctx, key, password, clickOf(request)), key);
        } catch (err) {
          if (isTnyError(err) && err.code === 'INVALID_PASSWORD') {
            return answer(deps, request, reply, { kind: 'password', key }, key, 'Wrong password. Try again.');
          }
          throw err;
        }
      },
    );
  });
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ERROR_CATALOGUE, type ErrorCode } from '../platform/errors.js';
import type { RateLimiter } from '../platform/rate-limit/types.js';
import type { ShortenerContext } from '../shortener/context.js';
import { resolveCached, resolveLink, type ClickContext, type Resolution } from '../shortener/use-cases/resolve-link.js';
import { errorPage, HTML_CSP, passwordPage } from './html.js';
import type { Metrics } from './metrics.js';
import { rateLimitHeaders } from './hooks/rate-limit.js';

export const KEY_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const GONE_CODE: Record<'expired' | 'disabled' | 'click_limit', ErrorCode> = {
  expired: 'LINK_EXPIRED',
  disabled: 'LINK_DISABLED',
  click_limit: 'LINK_CLICK_LIMIT_REACHED',
};

/** Browsers get HTML; anything that does not ask for HTML gets the JSON envelope. */
export function wantsHtml(accept: string | undefined): boolean {
  return typeof accept === 'string' && accept.includes('text/html');
}

export function sendRedirectError(req: IncomingMessage, res: ServerResponse, code: ErrorCode, extra: Record<string, string> = {}): void {
  const { status, message } = ERROR_CATALOGUE[code];
  const html = wantsHtml(req.headers.accept);
  const body = html ? errorPage(message, message) : JSON.stringify({ status: 'error', error: { code, message } });
  res.writeHead(status, {
    ...extra,
    'content-type': html ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...(html ? { 'content-security-policy': HTML_CSP } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** The client's address: the socket's, or with a trusted proxy the first X-Forwarded-For hop. */
export function clientIp(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const xff = req.headers['x-forwarded-for'];
    const first = (Array.isArray(xff) ? xff[0] : xff)?.split(',')[0]?.trim();
    if (first) return first;
  }
  return req.socket.remoteAddress ?? '';
}

export interface RedirectHandlerDeps {
  shortener: ShortenerContext;
  trustProxy: boolean;
  metrics: Metrics;
  logger: Logger;
  redirectLimiter?: RateLimiter;
}

/**
 * GET/HEAD /{key}, written against node:http directly: it runs for every click, so it
 * skips the framework (routing, hooks, serialisation). The Fastify app mounts the same
 * handler on `/:key`, so `inject()` tests exercise this code too.
 */
export interface RedirectHandler {
  /** Answers GET/HEAD /{key}; `keyChecked` when the caller already matched KEY_PATTERN. */
  handle(req: IncomingMessage, res: ServerResponse, key: string, keyChecked?: boolean): void;
  /** Writes a resolution; `passwordError` re-shows the form (401) after a wrong password. */
  respond(req: IncomingMessage, res: ServerResponse, r: Resolution, key: string, passwordError?: string): void;
}

export function createRedirectHandler(deps: RedirectHandlerDeps): RedirectHandler {
  const { shortener: ctx, metrics, logger, redirectLimiter } = deps;
  const counters = metrics.redirect;

  const respond = (req: IncomingMessage, res: ServerResponse, r: Resolution, key: string, passwordError?: string): void => {
    switch (r.kind) {
      case 'redirect':
        counters.ok.inc();
        // Content-Length: 0 explicitly: after writeHead, Node would otherwise send it chunked.
        res.writeHead(r.status, { location: r.location, 'cache-control': r.cacheControl, 'content-length': 0 });
        res.end();
        return;
      case 'missing':
        counters.missing.inc();
        return sendRedirectError(req, res, 'LINK_NOT_FOUND');
      case 'gone':
        counters.gone.inc();
        return sendRedirectError(req, res, GONE_CODE[r.reason]);
      case 'password': {
        counters.password.inc();
        if (!wantsHtml(req.headers.accept)) {
          return sendRedirectError(req, res, passwordError ? 'INVALID_PASSWORD' : 'PASSWORD_REQUIRED');
        }
        const body = passwordPage(key, passwordError);
        res.writeHead(passwordError ? 401 : 200, {
          'content-type': 'text/html; charset=utf-8',
          'content-length': Buffer.byteLength(body),
          'cache-control': 'no-store',
          'content-security-policy': HTML_CSP,
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      }
    }
  };

  const fail = (req: IncomingMessage, res: ServerResponse, err: unknown): void => {
    logger.error({ err, url: req.url }, 'redirect failed');
    if (!res.headersSent) sendRedirectError(req, res, 'INTERNAL_ERROR');
    else res.destroy();
  };

  const resolve = (req: IncomingMessage, res: ServerResponse, key: string, click: ClickContext): void => {
    let cached: Resolution | undefined;
    try {
      cached = resolveCached(ctx, key, click);
    } catch (err) {
      return fail(req, res, err);
    }
    if (cached !== undefined) return respond(req, res, cached, key);
    resolveLink(ctx, key, click).then((r) => respond(req, res, r, key), (err: unknown) => fail(req, res, err));
  };

  const handle = (req: IncomingMessage, res: ServerResponse, key: string, keyChecked = false): void => {
    if (!keyChecked && !KEY_PATTERN.test(key)) return respond(req, res, { kind: 'missing' }, key);
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const click: ClickContext = {
      count: req.method !== 'HEAD',
      query: q === -1 ? '' : url.slice(q + 1),
      referer: req.headers.referer,
      userAgent: req.headers['user-agent'],
    };
    if (!redirectLimiter) return resolve(req, res, key, click);
    const ip = clientIp(req, deps.trustProxy);
    redirectLimiter.consume(`redirect:${ip}`).then((d) => {
      if (d.allowed) return resolve(req, res, key, click);
      counters.limited.inc();
      sendRedirectError(req, res, 'RATE_LIMITED', rateLimitHeaders(d));
    }, (err: unknown) => fail(req, res, err));
  };
  return { handle, respond };
}

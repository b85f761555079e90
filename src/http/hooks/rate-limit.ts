import type { FastifyReply, FastifyRequest } from 'fastify';
import { TnyError } from '../../platform/errors.js';
import type { RateLimitDecision, RateLimiter } from '../../platform/rate-limit/types.js';
import type { Metrics } from '../metrics.js';
import './request-context.js';

export const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** `RateLimit-*` headers (IETF draft) and, when refused, `Retry-After` in whole seconds. */
export function rateLimitHeaders(d: RateLimitDecision): Record<string, string> {
  const headers: Record<string, string> = {
    'ratelimit-limit': String(d.limit),
    'ratelimit-remaining': String(Math.max(0, d.remaining)),
    'ratelimit-reset': String(Math.ceil(d.resetMs / 1000)),
  };
  if (!d.allowed) headers['retry-after'] = String(Math.max(1, Math.ceil(d.retryAfterMs / 1000)));
  return headers;
}

/** The tighter of two decisions: refused beats allowed, then fewer remaining. */
function tighter(a: RateLimitDecision, b: RateLimitDecision): RateLimitDecision {
  if (a.allowed !== b.allowed) return a.allowed ? b : a;
  if (!a.allowed) return a.retryAfterMs >= b.retryAfterMs ? a : b;
  return a.remaining <= b.remaining ? a : b;
}

export function limited(decision: RateLimitDecision): TnyError {
  return new TnyError('RATE_LIMITED', {
    message: `too many requests; retry in ${Math.max(1, Math.ceil(decision.retryAfterMs / 1000))} s`,
    headers: rateLimitHeaders(decision),
  });
}

/**
 * Writes are limited per client IP (before authentication, so guessing keys is limited too)
 * and per API key (after it); both limits must allow (any RateLimiter: in-process or Redis,
 * whatever the algorithm). The headers show the tighter.
 */
export function writeLimitHooks(byIp: RateLimiter, byKey: RateLimiter, metrics: Metrics) {
  const ipDecisions = new WeakMap<FastifyRequest, RateLimitDecision>();
  return {
    async beforeAuth(request: FastifyRequest, reply: FastifyReply): Promise<void> {
      if (!WRITE_METHODS.has(request.method)) return;
      const decision = await byIp.consume(`ip:${request.ip}`);
      if (!decision.allowed) {
        metrics.rateLimited.labels('write_ip').inc();
        throw limited(decision);
      }
      ipDecisions.set(request, decision);
      reply.headers(rateLimitHeaders(decision));
    },
    async afterAuth(request: FastifyRequest, reply: FastifyReply): Promise<void> {
      const byIpDecision = ipDecisions.get(request);
      if (!byIpDecision || !request.actor) return;
      const perKey = await byKey.consume(`key:${request.actor.keyId}`);
      if (!perKey.allowed) {
        metrics.rateLimited.labels('write_key').inc();
        throw limited(perKey);
      }
      reply.headers(rateLimitHeaders(tighter(byIpDecision, perKey)));
    },
  };
}

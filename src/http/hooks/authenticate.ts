import type { FastifyRequest } from 'fastify';
import type { Actor } from '../../platform/auth/actor.js';
import type { Authenticator } from '../../platform/auth/authenticator.js';
import { TnyError } from '../../platform/errors.js';
import './request-context.js';

/** The presented key: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m) return m[1];
  }
  const apiKey = request.headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey.trim() : undefined;
}

export function authenticateHook(auth: Authenticator) {
  return async (request: FastifyRequest): Promise<void> => {
    const actor = await auth.authenticate(presentedKey(request));
    if (!actor) {
      throw new TnyError('UNAUTHORIZED', { headers: { 'www-authenticate': 'Bearer realm="tny"' } });
    }
    request.actor = actor;
  };
}

/** The actor of an authenticated route (the hook guarantees it is there). */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new TnyError('UNAUTHORIZED');
  return request.actor;
}

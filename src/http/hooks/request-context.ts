import type { Actor } from '../../platform/auth/actor.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook on /api routes. */
    actor?: Actor;
    /** Set when this request holds an Idempotency-Key reservation. */
    idempotency?: { scope: string; key: string };
  }
}

export {};

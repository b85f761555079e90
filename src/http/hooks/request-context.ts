import type { Actor } from '../../platform/auth/actor.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook on /api routes. */
    actor?: Actor;
    /** Set when this request holds an Idempotency-Key reservation. */
    idempotency?: { scope: string; key: string };
  }
  interface FastifyContextConfig {
    /**
     * The route stores the Idempotency-Key with its effect, in one transaction, and answers a
     * repeat from what it stored: a reservation left pending by a dead request may be taken over.
     */
    durableIdempotency?: boolean;
  }
}

export {};

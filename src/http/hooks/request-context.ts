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
    /**
     * The route stores the key with its effect AND answers every repeat itself (a concurrent
     * duplicate loses the effect's unique insert and gets the winner's answer): the hook only
     * checks the key's format and keeps out of the way, saving the store's three writes.
     */
    ownIdempotency?: boolean;
  }
}

export {};

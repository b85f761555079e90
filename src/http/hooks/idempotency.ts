import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TnyError } from '../../platform/errors.js';
import type { IdempotencyStore } from '../../platform/idempotency/ports.js';
import type { Clock } from '../../platform/clock.js';
import { IDEMPOTENCY_KEY_PATTERN, IDEMPOTENCY_KEY_RULE } from '../../platform/idempotency/key.js';
import './request-context.js';

/**
 * `Idempotency-Key` on POST: the first request with a key runs and its 2xx answer is kept
 * for the TTL; later requests with the same key and body get that answer again (header
 * `Idempotent-Replayed: true`) and create nothing. The same key with another body is 422;
 * while the first is still running, 409. A failed first request frees the key.
 *
 * The reservation (`pending`) is written before the work and the answer after it, so a
 * process killed in between leaves the key pending until the TTL. On routes whose effect
 * carries the key itself, in the same transaction (`config: { durableIdempotency: true }`:
 * the notification routes, whose notification rows hold the key under a unique index), a
 * pending reservation is taken over unless a request in this process holds it: the route
 * finds what the dead request committed, or does the work once, and answers either way.
 * Another live process holding it is not detectable here and is harmless there (both run,
 * the unique key makes them agree). On other routes a pending key stays 409: whether the dead
 * request's effect committed cannot be told, and running it again could do it twice.
 * Routes marked `ownIdempotency` (POST /api/v1/notifications) replay from their own rows and
 * need no reservation at all: the hook only checks the key's format there.
 */
export function idempotencyHooks(store: IdempotencyStore, clock: Clock, ttlMs: number) {
  /** (scope, key) reservations held by requests running in this process. */
  const held = new Set<string>();
  const slot = (h: { scope: string; key: string }) => `${h.scope}\n${h.key}`;
  const release = (h: { scope: string; key: string }) => held.delete(slot(h));

  return {
    async preHandler(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
      if (request.method !== 'POST') return undefined;
      const key = request.headers['idempotency-key'];
      if (key === undefined) return undefined;
      if (typeof key !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(key)) {
        throw new TnyError('VALIDATION_ERROR', {
          details: [{ field: 'Idempotency-Key', message: IDEMPOTENCY_KEY_RULE }],
          message: `Idempotency-Key: ${IDEMPOTENCY_KEY_RULE}`,
        });
      }
      if (request.routeOptions.config?.ownIdempotency === true) return undefined;
      const scope = request.actor ? `account:${request.actor.accountId}` : `ip:${request.ip}`;
      const hash = createHash('sha256')
        .update(`${request.method} ${request.routeOptions.url ?? request.url}\n${JSON.stringify(request.body ?? null)}`)
        .digest('hex');
      const begun = await store.begin(scope, key, hash, clock.now(), ttlMs);
      const mine = { scope, key };
      if (begun.state === 'new') {
        held.add(slot(mine));
        request.idempotency = mine;
        return undefined;
      }
      if (!begun.sameRequest) throw new TnyError('IDEMPOTENCY_KEY_REUSED');
      if (begun.state === 'pending') {
        // Checked and taken with no await in between: of two retries in this process, one runs.
        const durable = request.routeOptions.config?.durableIdempotency === true;
        if (!durable || held.has(slot(mine))) throw new TnyError('IDEMPOTENCY_IN_PROGRESS');
        held.add(slot(mine));
        request.idempotency = mine;
        request.log.warn({ idempotency_key: key }, 'idempotency key left pending by a request not running in this process: taken over');
        return undefined;
      }
      return reply
        .code(begun.statusCode)
        .header('idempotent-replayed', 'true')
        .type('application/json; charset=utf-8')
        .send(begun.response);
    },
    async onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
      const h = request.idempotency;
      if (!h) return payload;
      request.idempotency = undefined;
      try {
        if (reply.statusCode >= 200 && reply.statusCode < 300 && typeof payload === 'string') {
          await store.complete(h.scope, h.key, reply.statusCode, payload);
        } else {
          await store.abandon(h.scope, h.key);
        }
      } finally {
        release(h);
      }
      return payload;
    },
    /** A request that died before answering must not leave its key pending forever. */
    async onResponse(request: FastifyRequest): Promise<void> {
      const h = request.idempotency;
      if (!h) return;
      request.idempotency = undefined;
      release(h);
      await store.abandon(h.scope, h.key);
    },
  };
}

import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TnyError } from '../../platform/errors.js';
import type { IdempotencyStore } from '../../platform/idempotency/ports.js';
import type { Clock } from '../../platform/clock.js';
import './request-context.js';

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * `Idempotency-Key` on POST: the first request with a key runs and its 2xx answer is kept
 * for the TTL; later requests with the same key and body get that answer again (header
 * `Idempotent-Replayed: true`) and create nothing. The same key with another body is 422;
 * while the first is still running, 409. A failed first request frees the key.
 */
export function idempotencyHooks(store: IdempotencyStore, clock: Clock, ttlMs: number) {
  return {
    async preHandler(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
      if (request.method !== 'POST') return undefined;
      const key = request.headers['idempotency-key'];
      if (key === undefined) return undefined;
      if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
        throw new TnyError('VALIDATION_ERROR', {
          details: [{ field: 'Idempotency-Key', message: 'must be 1 to 255 visible ASCII characters' }],
          message: 'Idempotency-Key: must be 1 to 255 visible ASCII characters',
        });
      }
      const scope = request.actor ? `account:${request.actor.accountId}` : `ip:${request.ip}`;
      const hash = createHash('sha256')
        .update(`${request.method} ${request.routeOptions.url ?? request.url}\n${JSON.stringify(request.body ?? null)}`)
        .digest('hex');
      const begun = await store.begin(scope, key, hash, clock.now(), ttlMs);
      if (begun.state === 'new') {
        request.idempotency = { scope, key };
        return undefined;
      }
      if (!begun.sameRequest) throw new TnyError('IDEMPOTENCY_KEY_REUSED');
      if (begun.state === 'pending') throw new TnyError('IDEMPOTENCY_IN_PROGRESS');
      return reply
        .code(begun.statusCode)
        .header('idempotent-replayed', 'true')
        .type('application/json; charset=utf-8')
        .send(begun.response);
    },
    async onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
      const held = request.idempotency;
      if (!held) return payload;
      request.idempotency = undefined;
      if (reply.statusCode >= 200 && reply.statusCode < 300 && typeof payload === 'string') {
        await store.complete(held.scope, held.key, reply.statusCode, payload);
      } else {
        await store.abandon(held.scope, held.key);
      }
      return payload;
    },
    /** A request that died before answering must not leave its key pending forever. */
    async onResponse(request: FastifyRequest): Promise<void> {
      const held = request.idempotency;
      if (held) await store.abandon(held.scope, held.key);
    },
  };
}

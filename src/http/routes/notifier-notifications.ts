import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import type { Delivery } from '../../notifier/notifications/ledger.js';
import { getNotification, listNotifications, type NotificationWithDeliveries } from '../../notifier/notifications/queries.js';
import { MAX_BATCH, sendBatch, sendNotification, type ChannelOutcome, type PipelineContext, type SendInput } from '../../notifier/notifications/send.js';
import { ok, page } from '../envelope.js';
import { actorOf } from '../hooks/authenticate.js';
import * as S from '../schemas.js';

const tags = ['notifications'];
const security: Record<string, string[]>[] = [{ bearer: [] }, { apiKey: [] }];
const errors = S.errorResponses;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const SendBody = Type.Object(
  {
    recipient: Type.String({ maxLength: 256 }),
    category: Type.String({ maxLength: 128 }),
    template: Type.String({ maxLength: 200 }),
    data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    channels: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 16 })),
    priority: Type.Optional(Type.String({ maxLength: 16, description: 'high, normal (default) or low' })),
    send_at: Type.Optional(Type.String({ maxLength: 64, description: 'ISO 8601; not delivered before it' })),
    idempotency_key: Type.Optional(Type.String({ maxLength: 255, description: 'Same as the Idempotency-Key header (the header wins)' })),
  },
  { additionalProperties: false },
);

/**
 * `idempotency_key` in the body works like the Idempotency-Key header: this route-level
 * preValidation hook runs before the API's idempotency preHandler and hands it the key.
 */
async function keyFromBody(request: FastifyRequest): Promise<void> {
  const body = request.body as { idempotency_key?: unknown } | undefined;
  if (request.headers['idempotency-key'] === undefined && typeof body?.idempotency_key === 'string') {
    request.headers['idempotency-key'] = body.idempotency_key;
  }
}

function toInput(b: Static<typeof SendBody>, idempotency?: SendInput['idempotency']): SendInput {
  return {
    recipient: b.recipient,
    category: b.category,
    template: b.template,
    ...(b.data !== undefined ? { data: b.data } : {}),
    ...(b.channels !== undefined ? { channels: b.channels } : {}),
    ...(b.priority !== undefined ? { priority: b.priority } : {}),
    ...(b.send_at !== undefined ? { sendAt: b.send_at } : {}),
    ...(idempotency ? { idempotency } : {}),
  };
}

/** The request's Idempotency-Key (validated by the idempotency hook), or undefined. */
function headerKey(request: FastifyRequest): string | undefined {
  const key = request.headers['idempotency-key'];
  return typeof key === 'string' ? key : undefined;
}

export function outcomeDto(o: ChannelOutcome) {
  if (o.status === 'suppressed') return { channel: o.channel, status: o.status, reason: o.reason };
  if (o.status === 'scheduled') return { channel: o.channel, status: o.status, delivery_id: o.deliveryId, at: iso(o.at) };
  return { channel: o.channel, status: o.status, delivery_id: o.deliveryId };
}

export function deliveryDto(d: Delivery) {
  return {
    id: d.id,
    notification_id: d.notificationId,
    channel: d.channel,
    status: d.status,
    reason: d.reason,
    attempts: d.attempts,
    provider_message_id: d.providerMessageId,
    last_error: d.lastError,
    run_at: iso(d.runAt),
    created_at: iso(d.createdAt),
    updated_at: iso(d.updatedAt),
    log: d.log.map((e) => ({ at: iso(e.at), event: e.event, ...(e.detail !== undefined ? { detail: e.detail } : {}) })),
  };
}

function notificationDto(n: NotificationWithDeliveries) {
  return {
    id: n.id,
    recipient: n.recipientId,
    category: n.category,
    template: n.template,
    priority: n.priority,
    send_at: iso(n.sendAt),
    created_at: iso(n.createdAt),
    channels: n.deliveries.map(deliveryDto),
  };
}

/** /api/v1/notifications: accept a notification (202), read its deliveries; thin over the use cases. */
/** Largest batch body: MAX_BATCH notifications of up to 4 KiB each. */
const BATCH_BODY_LIMIT = MAX_BATCH * 4096;

/**
 * Both POST routes store the idempotency key with the notification (docs/notifier-pipeline.md,
 * crash windows of accept), hence `durableIdempotency`: a key left pending by a killed request
 * is taken over, and the retry is answered from what the dead request committed, if anything.
 * `idempotencyTtlMs`: how long a key replays (IDEMPOTENCY_TTL_SECONDS, as the HTTP hook's).
 */
export function notifierNotificationRoutes(app: FastifyInstance, ctx: PipelineContext, idempotencyTtlMs = 86_400_000): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.post('/api/v1/notifications', {
    // The notification row holds the key: its unique index settles repeats and concurrent
    // duplicates, and the first answer is rebuilt from the ledger rows (sendNotification).
    config: { durableIdempotency: true, ownIdempotency: true },
    schema: { tags, security, summary: 'Send a notification (accepted: 202)', body: SendBody, response: { 202: S.success(Type.Unknown()), ...errors } },
    preValidation: keyFromBody,
    handler: async (request, reply) => {
      const key = headerKey(request);
      const result = await sendNotification(ctx, actorOf(request), toInput(request.body, key !== undefined ? { key, ttlMs: idempotencyTtlMs } : undefined));
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(202).send(ok({ id: result.id, channels: result.channels.map(outcomeDto) }));
    },
  });

  r.post('/api/v1/notifications/batch', {
    // Up to MAX_BATCH notifications of a few KiB each: far over BODY_LIMIT (64 KiB by default),
    // which a batch of 1,000 small ones (~100 KB) already exceeds.
    bodyLimit: BATCH_BODY_LIMIT,
    config: { durableIdempotency: true },
    schema: {
      tags,
      security,
      summary: `Send up to ${MAX_BATCH} notifications; one answer per item`,
      body: Type.Object({ notifications: Type.Array(SendBody, { maxItems: MAX_BATCH }) }, { additionalProperties: false }),
      response: { 202: S.success(Type.Unknown()), ...errors },
    },
    handler: async (request, reply) => {
      // An item's own idempotency_key keys it; otherwise the batch's key and the item's index
      // do, so a batch retried after a crash part-way creates only the items not yet accepted.
      const batchKey = headerKey(request);
      const inputs = request.body.notifications.map((b, index) =>
        toInput(
          b,
          b.idempotency_key !== undefined
            ? { key: b.idempotency_key, ttlMs: idempotencyTtlMs }
            : batchKey !== undefined
              ? { key: batchKey, ttlMs: idempotencyTtlMs, batchIndex: index }
              : undefined,
        ),
      );
      const results = await sendBatch(ctx, actorOf(request), inputs);
      return reply.code(202).send(
        ok({
          accepted: results.filter((r) => r.status === 'accepted').length,
          rejected: results.filter((r) => r.status === 'rejected').length,
          items: results.map((r) =>
            r.status === 'accepted'
              ? { index: r.index, status: r.status, id: r.result.id, channels: r.result.channels.map(outcomeDto) }
              : { index: r.index, status: r.status, error: r.error },
          ),
        }),
      );
    },
  });

  r.get('/api/v1/notifications/:id', {
    schema: { tags, security, summary: 'A notification and its deliveries', params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response: { 200: S.success(Type.Unknown()), ...errors } },
    handler: async (request) => ok(notificationDto(await getNotification(ctx, actorOf(request), request.params.id))),
  });

  r.get('/api/v1/notifications', {
    schema: {
      tags,
      security,
      summary: 'List notifications, newest first',
      querystring: Type.Object(
        { recipient: Type.Optional(Type.String({ maxLength: 256 })), status: Type.Optional(Type.String({ maxLength: 16 })), limit: Type.Optional(Type.Integer()), cursor: Type.Optional(Type.String({ maxLength: 512 })) },
        { additionalProperties: false },
      ),
      response: { 200: S.list(Type.Unknown()), ...errors },
    },
    handler: async (request) => {
      const result = await listNotifications(ctx, actorOf(request), request.query);
      return page(result.items.map(notificationDto), result.nextCursor, result.limit);
    },
  });
}

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { listDeliveries, retryDelivery } from '../../notifier/notifications/queries.js';
import type { PipelineContext } from '../../notifier/notifications/send.js';
import { ok, page } from '../envelope.js';
import { actorOf } from '../hooks/authenticate.js';
import * as S from '../schemas.js';
import { deliveryDto } from './notifier-notifications.js';

const tags = ['notifications'];
const security: Record<string, string[]>[] = [{ bearer: [] }, { apiKey: [] }];
const errors = S.errorResponses;

/** /api/v1/deliveries: the dead-letter view (status=dead by default) and retry. */
export function notifierDeliveryRoutes(app: FastifyInstance, ctx: PipelineContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get('/api/v1/deliveries', {
    schema: {
      tags,
      security,
      summary: 'Deliveries by status (default dead)',
      querystring: Type.Object(
        { status: Type.Optional(Type.String({ maxLength: 16 })), limit: Type.Optional(Type.Integer()), cursor: Type.Optional(Type.String({ maxLength: 512 })) },
        { additionalProperties: false },
      ),
      response: { 200: S.list(Type.Unknown()), ...errors },
    },
    handler: async (request) => {
      const result = await listDeliveries(ctx, actorOf(request), request.query);
      return page(result.items.map(deliveryDto), result.nextCursor, result.limit);
    },
  });

  r.post('/api/v1/deliveries/:id/retry', {
    schema: { tags, security, summary: 'Retry a dead or failed delivery', params: Type.Object({ id: Type.String({ maxLength: 200 }) }), response: { 200: S.success(Type.Unknown()), ...errors } },
    handler: async (request) => ok(deliveryDto(await retryDelivery(ctx, actorOf(request), request.params.id))),
  });
}

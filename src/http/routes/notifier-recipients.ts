import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { NotifierContext } from '../../notifier/context.js';
import { getPreferences, putPreferences } from '../../notifier/use-cases/preferences.js';
import {
  addContactPoint,
  createRecipient,
  deleteContactPoint,
  deleteRecipient,
  getRecipient,
  listRecipients,
  setContactPointValid,
  updateRecipient,
} from '../../notifier/use-cases/recipients.js';
import { ok, page } from '../envelope.js';
import { actorOf } from '../hooks/authenticate.js';
import * as S from '../schemas.js';
import { contactDto, preferencesDto, recipientDto } from './notifier-dto.js';
import * as N from './notifier-schemas.js';

const tags = ['recipients'];
const security: Record<string, string[]>[] = [{ bearer: [] }, { apiKey: [] }];
const errors = S.errorResponses;

/** /api/v1/recipients: recipients, their contact points and preferences; thin over the use cases. */
export function notifierRecipientRoutes(app: FastifyInstance, ctx: NotifierContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.post('/api/v1/recipients', {
    schema: { tags, security, summary: 'Create a recipient (with contact points)', body: N.RecipientBody, response: { 201: S.success(N.Recipient), ...errors } },
    handler: async (request, reply) => {
      const b = request.body;
      const created = await createRecipient(ctx, actorOf(request), { id: b.id, locale: b.locale, timeZone: b.time_zone, contacts: b.contacts });
      return reply.code(201).send(ok(recipientDto(created)));
    },
  });

  r.get('/api/v1/recipients', {
    schema: { tags, security, summary: 'List recipients', querystring: N.PageQuery, response: { 200: S.list(N.Recipient), ...errors } },
    handler: async (request) => {
      const result = await listRecipients(ctx, actorOf(request), request.query);
      return page(result.items.map(recipientDto), result.nextCursor, result.limit);
    },
  });

  r.get('/api/v1/recipients/:id', {
    schema: { tags, security, summary: 'Get a recipient', params: N.RecipientParams, response: { 200: S.success(N.Recipient), ...errors } },
    handler: async (request) => ok(recipientDto(await getRecipient(ctx, actorOf(request), request.params.id))),
  });

  r.patch('/api/v1/recipients/:id', {
    schema: {
      tags,
      security,
      summary: 'Change locale or time zone',
      params: N.RecipientParams,
      body: N.RecipientPatchBody,
      response: { 200: S.success(N.Recipient), ...errors },
    },
    handler: async (request) =>
      ok(recipientDto(await updateRecipient(ctx, actorOf(request), request.params.id, { locale: request.body.locale, timeZone: request.body.time_zone }))),
  });

  r.delete('/api/v1/recipients/:id', {
    schema: { tags, security, summary: 'Delete a recipient, its contact points and preferences', params: N.RecipientParams, response: { 204: Type.Null(), ...errors } },
    handler: async (request, reply) => {
      await deleteRecipient(ctx, actorOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  });

  r.post('/api/v1/recipients/:id/contacts', {
    schema: { tags, security, summary: 'Add a contact point', params: N.RecipientParams, body: N.ContactInput, response: { 201: S.success(N.Contact), ...errors } },
    handler: async (request, reply) => {
      const added = await addContactPoint(ctx, actorOf(request), request.params.id, request.body);
      return reply.code(201).send(ok(contactDto(added)));
    },
  });

  r.patch('/api/v1/recipients/:id/contacts/:contactId', {
    schema: {
      tags,
      security,
      summary: 'Mark a contact point valid or invalid',
      params: N.ContactParams,
      body: N.ContactPatchBody,
      response: { 200: S.success(N.Contact), ...errors },
    },
    handler: async (request) =>
      ok(contactDto(await setContactPointValid(ctx, actorOf(request), request.params.id, request.params.contactId, request.body.valid))),
  });

  r.delete('/api/v1/recipients/:id/contacts/:contactId', {
    schema: { tags, security, summary: 'Remove a contact point', params: N.ContactParams, response: { 204: Type.Null(), ...errors } },
    handler: async (request, reply) => {
      await deleteContactPoint(ctx, actorOf(request), request.params.id, request.params.contactId);
      return reply.code(204).send(null);
    },
  });

  r.get('/api/v1/recipients/:id/preferences', {
    schema: { tags, security, summary: "A recipient's preferences", params: N.RecipientParams, response: { 200: S.success(N.Preferences), ...errors } },
    handler: async (request) => ok(preferencesDto(await getPreferences(ctx, actorOf(request), request.params.id))),
  });

  r.put('/api/v1/recipients/:id/preferences', {
    schema: {
      tags,
      security,
      summary: "Replace a recipient's preferences",
      params: N.RecipientParams,
      body: N.PreferencesBody,
      response: { 200: S.success(N.Preferences), ...errors },
    },
    handler: async (request) => ok(preferencesDto(await putPreferences(ctx, actorOf(request), request.params.id, request.body))),
  });
}

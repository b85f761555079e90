import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import { Type } from 'typebox';
import type { InboxContext, InboxMessage } from '../../notifier/inbox/inbox.js';
import { listInbox, ownRecipient, parseMessageId, setInboxRead, unreadCount } from '../../notifier/inbox/inbox-use-cases.js';
import { TnyError } from '../../platform/errors.js';
import { ok, page } from '../envelope.js';
import { actorOf } from '../hooks/authenticate.js';
import * as S from '../schemas.js';

const tags = ['inbox'];
const security: Record<string, string[]>[] = [{ bearer: [] }, { apiKey: [] }];
const errors = S.errorResponses;

/** Comment lines this often keep proxies and load balancers from closing an idle stream. */
export const HEARTBEAT_MS = 15_000;
/** At most this many missed messages are replayed on reconnect; older ones are in the list API. */
export const MAX_REPLAY = 1000;
/** A client that reads slower than this much buffered output is cut off; it reconnects and replays. */
export const MAX_STREAM_BUFFER_BYTES = 1 << 20;
const REPLAY_BATCH = 200;

export interface InboxRouteDeps extends InboxContext {
  heartbeatMs?: number;
}

const InboxParams = Type.Object({ id: Type.String({ maxLength: 256 }) });
const MessageParams = Type.Object({
  id: Type.String({ maxLength: 256 }),
  messageId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
});
const InboxQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ description: '1–100, default 20.' })),
    cursor: Type.Optional(Type.String({ maxLength: 2048 })),
    unread: Type.Optional(Type.Boolean({ description: 'true: unread messages only.' })),
  },
  { additionalProperties: false },
);
const Message = Type.Object({
  id: Type.String({ description: 'Grows with arrival; also the SSE event id.' }),
  title: Type.String(),
  body: Type.String(),
  data: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  created_at: Type.String(),
  read_at: Type.Union([Type.String(), Type.Null()]),
});

export function inboxDto(m: InboxMessage) {
  return {
    id: String(m.id),
    title: m.title,
    body: m.body,
    data: m.data,
    created_at: new Date(m.createdAt).toISOString(),
    read_at: m.readAt === null ? null : new Date(m.readAt).toISOString(),
  };
}

/**
 * /api/v1/recipients/{id}/inbox: the in-app channel's stored messages (newest first, cursor
 * pages, unread filter, read/unread, unread count) and a live Server-Sent Events stream.
 */
export function notifierInboxRoutes(app: FastifyInstance, ctx: InboxRouteDeps): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const open = new Set<ServerResponse>();
  // Open streams would keep `close()` waiting forever: end them first.
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
  });

  r.get('/api/v1/recipients/:id/inbox', {
    schema: { tags, security, summary: 'List inbox messages, newest first', params: InboxParams, querystring: InboxQuery, response: { 200: S.list(Message), ...errors } },
    handler: async (request) => {
      const result = await listInbox(ctx, actorOf(request), request.params.id, request.query);
      return page(result.items.map(inboxDto), result.nextCursor, result.limit);
    },
  });

  r.get('/api/v1/recipients/:id/inbox/unread-count', {
    schema: { tags, security, summary: 'Count unread inbox messages', params: InboxParams, response: { 200: S.success(Type.Object({ unread: Type.Integer() })), ...errors } },
    handler: async (request) => ok({ unread: await unreadCount(ctx, actorOf(request), request.params.id) }),
  });

  for (const [action, read] of [['read', true], ['unread', false]] as const) {
    r.post(`/api/v1/recipients/:id/inbox/:messageId/${action}`, {
      schema: { tags, security, summary: `Mark an inbox message ${action}`, params: MessageParams, response: { 200: S.success(Message), ...errors } },
      handler: async (request) => ok(inboxDto(await setInboxRead(ctx, actorOf(request), request.params.id, request.params.messageId, read))),
    });
  }

  r.get('/api/v1/recipients/:id/inbox/stream', {
    schema: { tags, security, summary: 'Live inbox (text/event-stream); Last-Event-ID replays what was missed', params: InboxParams },
    handler: async (request, reply) => {
      const actor = actorOf(request);
      const recipientId = request.params.id;
      const given = request.headers['last-event-id'];
      let lastSent = 0;
      if (typeof given === 'string' && given.trim() !== '') {
        const id = parseMessageId(given.trim());
        if (id === undefined) {
          throw new TnyError('BAD_REQUEST', { message: 'Last-Event-ID is not a message id', details: [{ field: 'last-event-id', message: 'must be a message id' }] });
        }
        lastSent = id;
      }
      const replay = lastSent > 0;
      await ownRecipient(ctx, actor, recipientId);

      // Subscribe before reading the replay, holding live messages until it is written, so a
      // message stored in between is neither lost nor sent twice. Live messages are not
      // filtered by id: on PostgreSQL two concurrent inserts can commit (and be published) in
      // the other order than their ids, and dropping the smaller one would lose it.
      const held: InboxMessage[] = [];
      const replayed = new Set<number>();
      let live = false;
      const res = reply.raw;
      const send = (m: InboxMessage) => {
        if (res.writableEnded) return;
        res.write(`id: ${m.id}\nevent: message\ndata: ${JSON.stringify(inboxDto(m))}\n\n`);
        if (res.writableLength > MAX_STREAM_BUFFER_BYTES) res.end();
      };
      const sub = ctx.hub.subscribe(actor.accountId, recipientId, (m) => (live ? send(m) : held.push(m)));
      if (sub === 'full') {
        throw new TnyError('RATE_LIMITED', { message: 'too many open streams for this recipient', headers: { 'retry-after': '5' } });
      }

      reply.hijack();
      open.add(res);
      const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), ctx.heartbeatMs ?? HEARTBEAT_MS);
      heartbeat.unref();
      res.on('close', () => {
        clearInterval(heartbeat);
        sub.unsubscribe();
        open.delete(res);
      });
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': request.id,
      });
      res.write(': connected\n\n');

      try {
        if (replay) {
          for (let total = 0; total < MAX_REPLAY && !res.writableEnded; ) {
            const batch = await ctx.inbox.since(actor.accountId, recipientId, lastSent, Math.min(REPLAY_BATCH, MAX_REPLAY - total));
            for (const m of batch) {
              send(m);
              replayed.add(m.id);
              lastSent = m.id;
            }
            total += batch.length;
            if (batch.length < REPLAY_BATCH) break;
          }
        }
        live = true;
        for (const m of held) if (!replayed.has(m.id)) send(m);
        held.length = 0;
        replayed.clear();
      } catch (err) {
        request.log.error({ err }, 'inbox stream replay failed');
        res.end();
      }
    },
  });
}

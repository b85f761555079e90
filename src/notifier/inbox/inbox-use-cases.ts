import type { Actor } from '../../platform/auth/actor.js';
import { TnyError } from '../../platform/errors.js';
import { checkLimit, decodeKeyCursor, encodeKeyCursor, toPage, type Page } from '../cursor.js';
import { recipientNotFound } from '../use-cases/recipients.js';
import type { InboxContext, InboxMessage } from './inbox.js';

const CURSOR_KIND = 'inbox';

/** The recipient must be the actor's own; another account's is hidden as not found. */
export async function ownRecipient(ctx: InboxContext, actor: Actor, recipientId: string): Promise<void> {
  if (!(await ctx.recipients.find(actor.accountId, recipientId))) throw recipientNotFound(recipientId);
}

/** Parses a message id or Last-Event-ID: a positive safe integer, or undefined. */
export function parseMessageId(text: string | undefined): number | undefined {
  if (text === undefined || !/^[1-9][0-9]{0,15}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

export interface InboxQuery {
  limit?: number;
  cursor?: string;
  unread?: boolean;
}

/** Newest first, keyset-paged on the id; `unread` keeps unread messages only. */
export async function listInbox(ctx: InboxContext, actor: Actor, recipientId: string, query: InboxQuery): Promise<Page<InboxMessage>> {
  const limit = checkLimit(query.limit);
  const unreadOnly = query.unread === true;
  // The filter is part of the cursor's kind, so a cursor of one view is refused by the other.
  const kind = unreadOnly ? `${CURSOR_KIND}:unread` : CURSOR_KIND;
  let before: number | null = null;
  if (query.cursor !== undefined) {
    const [id] = decodeKeyCursor(kind, query.cursor, 1);
    before = parseMessageId(id) ?? null;
    if (before === null) throw new TnyError('INVALID_CURSOR', { message: 'invalid cursor: not a cursor', details: [{ field: 'cursor', message: 'not a cursor' }] });
  }
  await ownRecipient(ctx, actor, recipientId);
  const rows = await ctx.inbox.list(actor.accountId, recipientId, { before, limit: limit + 1, unreadOnly });
  return toPage(rows, limit, (last) => encodeKeyCursor(kind, [String(last.id)]));
}

export async function unreadCount(ctx: InboxContext, actor: Actor, recipientId: string): Promise<number> {
  await ownRecipient(ctx, actor, recipientId);
  return ctx.inbox.unreadCount(actor.accountId, recipientId);
}

/** Marks read (keeping the first read time) or unread; 404 for a message that is not the recipient's. */
export async function setInboxRead(ctx: InboxContext, actor: Actor, recipientId: string, messageId: number, read: boolean): Promise<InboxMessage> {
  await ownRecipient(ctx, actor, recipientId);
  const updated = await ctx.inbox.setRead(actor.accountId, recipientId, messageId, read ? ctx.clock.now() : null);
  if (!updated) throw new TnyError('NOT_FOUND', { message: `recipient "${recipientId}" has no inbox message ${messageId}` });
  return updated;
}

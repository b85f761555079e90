import type { Actor } from '../../platform/auth/actor.js';
import { TnyError, validationError } from '../../platform/errors.js';
import type { DeadJob } from '../../platform/queue/types.js';
import { checkLimit, decodeKeyCursor, encodeKeyCursor, toPage, type Page } from '../cursor.js';
import { queueFor } from './ids.js';
import type { Delivery, DeliveryStatus, Notification } from './ledger.js';
import { enqueueDelivery, type PipelineContext } from './send.js';

export interface NotificationWithDeliveries extends Notification {
  deliveries: Delivery[];
}

const STATUSES: readonly DeliveryStatus[] = ['pending', 'sending', 'sent', 'failed', 'dead', 'suppressed'];

function notFound(id: string): TnyError {
  return new TnyError('NOTIFICATION_NOT_FOUND', { message: `no notification has the id "${id}"` });
}

export async function getNotification(ctx: PipelineContext, actor: Actor, id: string): Promise<NotificationWithDeliveries> {
  const found = await ctx.ledger.findNotification(actor.accountId, id);
  if (!found) throw notFound(id);
  return { ...found.notification, deliveries: found.deliveries };
}

/** Newest first; `recipient` filters, `status` keeps notifications with a delivery in that status. */
export async function listNotifications(
  ctx: PipelineContext,
  actor: Actor,
  input: { recipient?: string; status?: string; limit?: number; cursor?: string },
): Promise<Page<NotificationWithDeliveries>> {
  const limit = checkLimit(input.limit);
  const status = input.status as DeliveryStatus | undefined;
  if (status !== undefined && !STATUSES.includes(status)) throw validationError([{ field: 'status', message: `must be one of ${STATUSES.join(', ')}` }]);
  const after = input.cursor !== undefined ? decodeKeyCursor('notifications', input.cursor, 1)[0]! : null;
  const rows = await ctx.ledger.listNotifications(actor.accountId, { ...(input.recipient !== undefined ? { recipientId: input.recipient } : {}), ...(status ? { status } : {}), after, limit: limit + 1 });
  const page = toPage(rows, limit, (last) => encodeKeyCursor('notifications', [last.id]));
  const items = await Promise.all(
    page.items.map(async (n) => ({ ...n, deliveries: (await ctx.ledger.findNotification(actor.accountId, n.id))?.deliveries ?? [] })),
  );
  return { ...page, items };
}

export async function listDeliveries(ctx: PipelineContext, actor: Actor, input: { status?: string; limit?: number; cursor?: string }): Promise<Page<Delivery>> {
  const status = (input.status ?? 'dead') as DeliveryStatus;
  if (!STATUSES.includes(status)) throw validationError([{ field: 'status', message: `must be one of ${STATUSES.join(', ')}` }]);
  const limit = checkLimit(input.limit);
  const after = input.cursor !== undefined ? decodeKeyCursor('deliveries', input.cursor, 1)[0]! : null;
  const rows = await ctx.ledger.listByStatus(actor.accountId, status, after, limit + 1);
  return toPage(rows, limit, (last) => encodeKeyCursor('deliveries', [last.id]));
}

/**
 * A dead (or permanently failed) delivery back to pending, and its job back on the queue: the
 * dead-lettered job itself when the queue still holds it (attempts reset), else a new one.
 */
export async function retryDelivery(ctx: PipelineContext, actor: Actor, id: string): Promise<Delivery> {
  const revived = await ctx.ledger.revive(actor.accountId, id, ctx.clock.now());
  if (!revived) {
    const existing = await ctx.ledger.findDelivery(id);
    if (!existing || existing.accountId !== actor.accountId) throw new TnyError('DELIVERY_NOT_FOUND', { message: `no delivery has the id "${id}"` });
    throw new TnyError('DELIVERY_NOT_RETRYABLE', { message: `delivery "${id}" is ${existing.status}; only dead or failed deliveries can be retried` });
  }
  const queue = queueFor(revived.channel);
  let cursor: string | undefined;
  do {
    const page = await ctx.queue.deadLetters<{ deliveryId: string }>(queue, { limit: 500, ...(cursor ? { cursor } : {}) });
    const job = page.items.find((j: DeadJob<{ deliveryId: string }>) => j.payload.deliveryId === id);
    if (job) {
      await ctx.queue.retryDead(queue, job.id);
      return revived;
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  // No dead job: it was acked, or it is still leased by the worker that marked the row dead and
  // has not nacked it yet. A job deduplicated onto that one would die with it, leaving the row
  // pending without a job, so this one gets a key of its own (the ledger's claim keeps two
  // jobs for one row from sending twice).
  const notification = await ctx.ledger.notificationOf(revived);
  await enqueueDelivery(ctx, id, revived.channel, notification?.priority ?? 'normal', ctx.clock.now(), `${id} retry ${revived.attempts}`);
  return revived;
}

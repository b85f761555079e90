import type { Actor } from '../../platform/auth/actor.js';
import { TnyError, validationError, type FieldError } from '../../platform/errors.js';
import { PRIORITIES, type Queue } from '../../platform/queue/types.js';
import { checkCategoryName } from '../category.js';
import { isChannel, type ChannelName } from '../channel-names.js';
import type { NotifierContext } from '../context.js';
import { chooseChannels, decideDelivery, type SuppressionReason } from '../decide-delivery.js';
import { DEFAULT_PREFERENCES } from '../preferences.js';
import { checkRecipientId } from '../recipient.js';
import { TEMPLATE_NAME_PATTERN } from '../templates/template.js';
import { buildMessage } from './build-message.js';
import { deliveryId, newNotificationId, queueFor } from './ids.js';
import type { DeliveryLedger, NewDelivery, Notification, Priority } from './ledger.js';

/** What the send pipeline needs beyond the notifier's configuration stores. */
export interface PipelineContext extends NotifierContext {
  ledger: DeliveryLedger;
  queue: Queue;
  /** Queue leases per delivery before it is dead (NOTIFY_MAX_ATTEMPTS). */
  maxAttempts: number;
}

export interface SendInput {
  recipient: string;
  category: string;
  template: string;
  data?: Record<string, unknown>;
  channels?: string[];
  priority?: string;
  /** ISO 8601 time. */
  sendAt?: string;
}

export type ChannelOutcome =
  | { channel: ChannelName; status: 'queued'; deliveryId: string }
  | { channel: ChannelName; status: 'scheduled'; deliveryId: string; at: number }
  | { channel: ChannelName; status: 'suppressed'; reason: SuppressionReason };

export interface SendResult {
  id: string;
  channels: ChannelOutcome[];
}

const PRIORITY_NAMES: readonly Priority[] = ['high', 'normal', 'low'];

function check(input: SendInput): { problems: FieldError[]; sendAt: number | null; priority: Priority; channels?: ChannelName[] } {
  const problems: FieldError[] = [...checkRecipientId(input.recipient, 'recipient'), ...checkCategoryName(input.category, 'category')];
  if (!TEMPLATE_NAME_PATTERN.test(input.template)) problems.push({ field: 'template', message: 'must be 1–100 of a-z 0-9 _ . -' });
  const priority = (input.priority ?? 'normal') as Priority;
  if (!PRIORITY_NAMES.includes(priority)) problems.push({ field: 'priority', message: 'must be high, normal or low' });
  let sendAt: number | null = null;
  if (input.sendAt !== undefined) {
    sendAt = Date.parse(input.sendAt);
    if (Number.isNaN(sendAt)) problems.push({ field: 'send_at', message: 'must be an ISO 8601 date-time' });
  }
  let channels: ChannelName[] | undefined;
  if (input.channels !== undefined) {
    channels = [];
    input.channels.forEach((c, i) => {
      if (isChannel(c)) channels!.push(c);
      else problems.push({ field: `channels.${i}`, message: `unknown channel "${c}"` });
    });
  }
  return { problems, sendAt, priority, channels };
}

/**
 * Accept (§11.2): validate, decide per channel, render every template that will be sent (a
 * missing variable is a 422 now, not a dead letter later), write the notification and its
 * ledger rows in one transaction, then enqueue one job per queued channel with dedupeKey = the
 * delivery id. A crash between the commit and the enqueue leaves `pending` rows without jobs;
 * `requeueUnfinished` (run when the workers start) enqueues them again, and the dedupeKey and
 * the ledger make a second enqueue harmless.
 *
 * The frequency cap counts the recipient's sends of the category in the window from the ledger
 * (notifications with a delivery that was not suppressed). The count before deciding is a fast
 * path; the insert re-counts atomically (ledger.create with `cap`), so two concurrent sends
 * cannot both take the last slot.
 */
export async function sendNotification(ctx: PipelineContext, actor: Actor, input: SendInput): Promise<SendResult> {
  const checked = check(input);
  if (checked.problems.length > 0) throw validationError(checked.problems);
  const accountId = actor.accountId;
  const now = ctx.clock.now();
  const [recipient, category] = await Promise.all([
    ctx.stores.recipients.find(accountId, input.recipient),
    ctx.stores.categories.find(accountId, input.category),
  ]);
  if (!recipient) throw new TnyError('RECIPIENT_NOT_FOUND', { message: `no recipient has the id "${input.recipient}"` });
  if (!category) throw new TnyError('CATEGORY_NOT_FOUND', { message: `no category is named "${input.category}"` });
  const [contacts, stored] = await Promise.all([ctx.stores.contacts.list(accountId, recipient.id), ctx.stores.preferences.get(accountId, recipient.id)]);
  const preferences = stored ?? DEFAULT_PREFERENCES;
  const channels = chooseChannels(category, preferences, checked.channels);
  const sentInCapWindow = category.frequencyCap
    ? await ctx.ledger.countSince(accountId, recipient.id, category.name, now - category.frequencyCap.windowMs)
    : 0;
  const decisions = decideDelivery({
    recipient,
    contacts,
    category,
    preferences,
    channels,
    sentInCapWindow,
    now,
    ...(checked.sendAt !== null ? { notBefore: checked.sendAt } : {}),
  });

  const id = newNotificationId(now);
  const data = input.data ?? {};
  const notification: Notification = {
    id,
    accountId,
    recipientId: recipient.id,
    category: category.name,
    template: input.template,
    data,
    priority: checked.priority,
    sendAt: checked.sendAt,
    createdAt: now,
  };
  const rows: NewDelivery[] = [];
  const outcomes: ChannelOutcome[] = [];
  for (const d of decisions) {
    const base = { id: deliveryId(id, d.channel), notificationId: id, accountId, channel: d.channel, createdAt: now };
    if (d.action === 'suppress') {
      rows.push({ ...base, status: 'suppressed', reason: d.reason, contactId: null, message: null, runAt: now, log: [{ at: now, event: 'suppressed', detail: d.reason }] });
      outcomes.push({ channel: d.channel, status: 'suppressed', reason: d.reason });
      continue;
    }
    const contact = d.contacts[0];
    const message = await buildMessage(ctx, { recipient, category: category.name, template: input.template, data, notificationId: id }, d.channel, contact);
    const runAt = d.action === 'schedule' ? d.at : now;
    const event = d.action === 'schedule' ? 'scheduled' : 'queued';
    rows.push({ ...base, status: 'pending', reason: null, contactId: contact?.id ?? null, message, runAt, log: [{ at: now, event, detail: new Date(runAt).toISOString() }] });
    outcomes.push(d.action === 'schedule' ? { channel: d.channel, status: 'scheduled', deliveryId: base.id, at: d.at } : { channel: d.channel, status: 'queued', deliveryId: base.id });
  }
  const cap = category.frequencyCap;
  const sends = rows.some((r) => r.status === 'pending');
  if (cap && sends && (await ctx.ledger.create(notification, rows, { count: cap.count, since: now - cap.windowMs })) === 'capped') {
    // A concurrent send took the last slot between our count and our insert: capped after all.
    for (const [i, row] of rows.entries()) {
      if (row.status !== 'pending') continue;
      rows[i] = { ...row, status: 'suppressed', reason: 'frequency_cap', message: null, contactId: null, log: [{ at: now, event: 'suppressed', detail: 'frequency_cap' }] };
      outcomes[i] = { channel: row.channel, status: 'suppressed', reason: 'frequency_cap' };
    }
    await ctx.ledger.create(notification, rows);
  } else if (!cap || !sends) {
    await ctx.ledger.create(notification, rows);
  }
  for (const row of rows) {
    if (row.status === 'pending') await enqueueDelivery(ctx, row.id, row.channel, checked.priority, row.runAt);
  }
  return { id, channels: outcomes };
}

/**
 * The repair for a crash between the ledger commit and the enqueue: every pending or sending
 * row gets its job again (dedupeKey = delivery id, so rows whose job is still queued, delayed
 * or leased get nothing new; the ledger claim stops a second send of a row already sent).
 * Run once when the workers start; returns how many rows it looked at.
 */
export async function requeueUnfinished(ctx: PipelineContext): Promise<number> {
  let after: string | null = null;
  let seen = 0;
  for (;;) {
    const rows = await ctx.ledger.listUnfinished(after, 500);
    for (const row of rows) {
      const n = await ctx.ledger.notificationOf(row);
      await enqueueDelivery(ctx, row.id, row.channel, n?.priority ?? 'normal', Math.max(row.runAt, ctx.clock.now()));
    }
    seen += rows.length;
    if (rows.length < 500) return seen;
    after = rows[rows.length - 1]!.id;
  }
}

/** One job per delivery; the delivery id dedupes it. */
export async function enqueueDelivery(ctx: PipelineContext, id: string, channel: ChannelName, priority: Priority, runAt: number): Promise<void> {
  await ctx.queue.enqueue(queueFor(channel), { deliveryId: id }, { priority: PRIORITIES[priority], runAt, dedupeKey: id, maxAttempts: ctx.maxAttempts });
}

export const MAX_BATCH = 1000;

export type BatchItemResult =
  | { index: number; status: 'accepted'; result: SendResult }
  | { index: number; status: 'rejected'; error: { code: string; message: string; details?: FieldError[] } };

/**
 * Up to MAX_BATCH sends, each on its own: one item's 422 or 404 is that item's answer, the
 * others still go (partial success is a result, not an error). Anything else (the database
 * failing) stops the batch and propagates, so the client retries with the same key.
 */
export async function sendBatch(ctx: PipelineContext, actor: Actor, items: readonly SendInput[]): Promise<BatchItemResult[]> {
  if (items.length === 0 || items.length > MAX_BATCH) {
    throw validationError([{ field: 'notifications', message: `must hold 1 to ${MAX_BATCH} items` }]);
  }
  const out: BatchItemResult[] = [];
  for (const [index, item] of items.entries()) {
    try {
      out.push({ index, status: 'accepted', result: await sendNotification(ctx, actor, item) });
    } catch (err) {
      if (!(err instanceof TnyError) || err.status >= 500) throw err;
      out.push({ index, status: 'rejected', error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
    }
  }
  return out;
}

import { createHash } from 'node:crypto';
import type { Actor } from '../../platform/auth/actor.js';
import { TnyError, validationError, type FieldError } from '../../platform/errors.js';
import { IDEMPOTENCY_KEY_PATTERN, IDEMPOTENCY_KEY_RULE } from '../../platform/idempotency/key.js';
import { PRIORITIES, type Queue } from '../../platform/queue/types.js';
import { checkCategoryName } from '../category.js';
import { isChannel, type ChannelName } from '../channel-names.js';
import type { NotifierContext } from '../context.js';
import { chooseChannels, decideDelivery, type SuppressionReason } from '../decide-delivery.js';
import { DEFAULT_PREFERENCES } from '../preferences.js';
import { checkRecipientId } from '../recipient.js';
import { TEMPLATE_NAME_PATTERN } from '../templates/template.js';
import { buildMessage } from './build-message.js';
import { deliveryId, newNotificationId, queueFor, recipientRoute } from './ids.js';
import type { Delivery, DeliveryLedger, NewDelivery, Notification, Priority } from './ledger.js';

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
  /**
   * The caller's idempotency key and how long it replays. In a batch without a key of its own,
   * an item is keyed by the batch's key and its index (`batchIndex`): stored as "<key> <index>",
   * which no caller's key can be (keys have no spaces).
   */
  idempotency?: { key: string; ttlMs: number; batchIndex?: number };
}

export type ChannelOutcome =
  | { channel: ChannelName; status: 'queued'; deliveryId: string }
  | { channel: ChannelName; status: 'scheduled'; deliveryId: string; at: number }
  | { channel: ChannelName; status: 'suppressed'; reason: SuppressionReason };

export interface SendResult {
  id: string;
  channels: ChannelOutcome[];
  /** The idempotency key was already used with this input: nothing new was written. */
  replayed?: boolean;
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
  if (input.idempotency !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(input.idempotency.key)) {
    problems.push({ field: 'idempotency_key', message: IDEMPOTENCY_KEY_RULE });
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
 *
 * With an idempotency key, the key and the input's hash are written on the notification row in
 * that same transaction (unique per account), so "accepted" and "key used" cannot come apart
 * in a crash: a repeat — a retry after a crash at any point, or a concurrent duplicate — finds
 * the notification (first here, or as the loser of the insert) and gets the first answer
 * rebuilt from the ledger rows; the same key with another input is 422.
 */
export async function sendNotification(ctx: PipelineContext, actor: Actor, input: SendInput): Promise<SendResult> {
  const checked = check(input);
  if (checked.problems.length > 0) throw validationError(checked.problems);
  const accountId = actor.accountId;
  const now = ctx.clock.now();
  let idempotency: Notification['idempotency'];
  if (input.idempotency) {
    const { key, ttlMs, batchIndex } = input.idempotency;
    idempotency = { key: batchIndex === undefined ? key : `${key} ${batchIndex}`, requestHash: inputHash(input), expiresAt: now + ttlMs };
    const found = await ctx.ledger.findByIdempotencyKey(accountId, idempotency.key, now);
    if (found) return replay(ctx, found, idempotency.requestHash);
  }
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

  // The id carries the recipient's ring position: the ledger routes every later call by it.
  const id = newNotificationId(now, recipientRoute(accountId, recipient.id));
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
    channels: decisions.map((d) => d.channel),
    ...(idempotency ? { idempotency } : {}),
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
  let created = await ctx.ledger.create(notification, rows, cap && sends ? { count: cap.count, since: now - cap.windowMs } : undefined);
  if (created === 'capped') {
    // A concurrent send took the last slot between our count and our insert: capped after all.
    for (const [i, row] of rows.entries()) {
      if (row.status !== 'pending') continue;
      rows[i] = { ...row, status: 'suppressed', reason: 'frequency_cap', message: null, contactId: null, log: [{ at: now, event: 'suppressed', detail: 'frequency_cap' }] };
      outcomes[i] = { channel: row.channel, status: 'suppressed', reason: 'frequency_cap' };
    }
    created = await ctx.ledger.create(notification, rows);
  }
  if (typeof created === 'object' && idempotency) {
    // A concurrent request with the same key committed first: answer with its notification.
    const found = await ctx.ledger.findNotification(accountId, created.notificationId);
    if (!found) throw new Error(`notification ${created.notificationId} holds key ${idempotency.key} but was not found`);
    return replay(ctx, found, idempotency.requestHash);
  }
  for (const row of rows) {
    if (row.status === 'pending') await enqueueDelivery(ctx, row.id, row.channel, checked.priority, row.runAt);
  }
  return { id, channels: outcomes };
}

/** What a key was used with: the send input without the key, as JSON in a fixed field order. */
function inputHash(input: SendInput): string {
  const { recipient, category, template, data, channels, priority, sendAt } = input;
  return createHash('sha256').update(JSON.stringify([recipient, category, template, data ?? null, channels ?? null, priority ?? null, sendAt ?? null])).digest('hex');
}

/**
 * The answer to a repeated key: the same input gets the first answer, rebuilt from the ledger
 * rows in the accept order (a row's first log entry says queued or scheduled, and when); another
 * input is 422. Rows still `pending` are enqueued again, a no-op while their job exists (the
 * dedupeKey): this repairs a crash between the ledger commit and the enqueue without waiting
 * for the next worker start.
 */
async function replay(ctx: PipelineContext, found: { notification: Notification; deliveries: Delivery[] }, requestHash: string): Promise<SendResult> {
  const { notification: n, deliveries } = found;
  if (n.idempotency?.requestHash !== requestHash) throw new TnyError('IDEMPOTENCY_KEY_REUSED');
  const byId = new Map(deliveries.map((d) => [d.id, d]));
  const order = n.channels ?? deliveries.filter((d) => d.createdAt === n.createdAt).map((d) => d.channel);
  const channels: ChannelOutcome[] = [];
  for (const channel of order) {
    const d = byId.get(deliveryId(n.id, channel));
    if (!d) continue;
    const first = d.log[0];
    if (d.status === 'suppressed' && d.reason !== null) channels.push({ channel, status: 'suppressed', reason: d.reason });
    else if (first?.event === 'scheduled') channels.push({ channel, status: 'scheduled', deliveryId: d.id, at: first.detail ? Date.parse(first.detail) : d.runAt });
    else channels.push({ channel, status: 'queued', deliveryId: d.id });
    if (d.status === 'pending') await enqueueDelivery(ctx, d.id, d.channel, n.priority, Math.max(d.runAt, ctx.clock.now()));
  }
  return { id: n.id, channels, replayed: true };
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
    const priorities = await ctx.ledger.priorities(rows.map((r) => r.notificationId));
    for (const row of rows) {
      await enqueueDelivery(ctx, row.id, row.channel, priorities.get(row.notificationId) ?? 'normal', Math.max(row.runAt, ctx.clock.now()));
    }
    seen += rows.length;
    if (rows.length < 500) return seen;
    after = rows[rows.length - 1]!.id;
  }
}

/** One job per delivery; the delivery id dedupes it. */
export async function enqueueDelivery(ctx: PipelineContext, id: string, channel: ChannelName, priority: Priority, runAt: number, dedupeKey = id): Promise<void> {
  await ctx.queue.enqueue(queueFor(channel), { deliveryId: id }, { priority: PRIORITIES[priority], runAt, dedupeKey, maxAttempts: ctx.maxAttempts });
}

export const MAX_BATCH = 1000;
/** Items of one batch accepted at once: their commits share the group commit. */
const BATCH_CONCURRENCY = 32;

export type BatchItemResult =
  | { index: number; status: 'accepted'; result: SendResult }
  | { index: number; status: 'rejected'; error: { code: string; message: string; details?: FieldError[] } };

/**
 * Up to MAX_BATCH sends, each on its own: one item's 422 or 404 is that item's answer, the
 * others still go (partial success is a result, not an error). Anything else (the database
 * failing) stops the batch and propagates, so the client retries with the same key.
 * BATCH_CONCURRENCY items run at once (answers stay in batch order); items of a category with
 * a frequency cap run in batch order per recipient, so the cap's slots go to the first ones.
 */
export async function sendBatch(ctx: PipelineContext, actor: Actor, items: readonly SendInput[]): Promise<BatchItemResult[]> {
  if (items.length === 0 || items.length > MAX_BATCH) {
    throw validationError([{ field: 'notifications', message: `must hold 1 to ${MAX_BATCH} items` }]);
  }
  // Items of a capped category for one recipient go one after another in batch order, so the
  // first ones in the batch take the cap's slots, as in a sequential batch.
  const capped = new Set<string>();
  for (const name of new Set(items.map((i) => i.category))) {
    const category = await ctx.stores.categories.find(actor.accountId, name).catch(() => undefined);
    if (category?.frequencyCap) capped.add(name);
  }
  const chains = new Map<string, Promise<unknown>>();
  const out: BatchItemResult[] = new Array(items.length);
  let failure: { error: unknown } | undefined;
  const one = async (index: number): Promise<void> => {
    const item = items[index] as SendInput;
    try {
      out[index] = { index, status: 'accepted', result: await sendNotification(ctx, actor, item) };
    } catch (err) {
      if (!(err instanceof TnyError) || err.status >= 500) throw err;
      out[index] = { index, status: 'rejected', error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } };
    }
  };
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(BATCH_CONCURRENCY, items.length) }, async () => {
      while (next < items.length && !failure) {
        const index = next++;
        const item = items[index] as SendInput;
        let run: Promise<void>;
        if (capped.has(item.category)) {
          const key = `${item.recipient}\0${item.category}`;
          run = (chains.get(key) ?? Promise.resolve()).then(() => one(index));
          chains.set(key, run.catch(() => undefined));
        } else {
          run = one(index);
        }
        // A store failure (5xx) ends the batch: nothing new starts, what runs finishes, then it throws.
        await run.catch((error: unknown) => void (failure ??= { error }));
      }
    }),
  );
  if (failure) throw failure.error;
  return out;
}

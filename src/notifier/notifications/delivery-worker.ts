import { BrokenCircuitError, isPermanent, PermanentError, RetryableError } from '../../platform/resilience/errors.js';
import type { Backoff } from '../../platform/resilience/backoff.js';
import type { Policy } from '../../platform/resilience/policy.js';
import type { LeasedJob } from '../../platform/queue/types.js';
import { runWorker, type Worker } from '../../platform/queue/worker.js';
import { nextFallback } from '../category.js';
import { CHANNELS, CONTACT_FOR_CHANNEL, type ChannelName } from '../channel-names.js';
import type { Channel } from '../channels/channel.js';
import { isInvalidContact } from '../channels/errors.js';
import { buildMessage } from './build-message.js';
import { deliveryId, queueFor } from './ids.js';
import type { Delivery } from './ledger.js';
import { enqueueDelivery, type PipelineContext } from './send.js';

export interface DeliveryWorkerOptions {
  channels: ReadonlyMap<ChannelName, Channel>;
  /** The resilience policy around one provider call (timeout inside a breaker), per channel. */
  policyFor: (channel: ChannelName) => Policy;
  /** Jobs in flight per channel queue. */
  concurrency: number;
  /** Queue lease; also the ledger's claim lease (a `sending` row older than this is reclaimed). */
  visibilityMs: number;
  /** While a channel's breaker stays open longer than this after the delivery was created, fall back. */
  breakerFallbackMs: number;
  /**
   * Provider calls per delivery before it is dead (NOTIFY_MAX_ATTEMPTS). Leases refused by an
   * open breaker do not count: the job's own maxAttempts is only a ceiling on leases. Default:
   * the job's maxAttempts.
   */
  maxAttempts?: number;
  /**
   * Delay before retrying after the n-th failed provider call (when the provider sent no
   * Retry-After). Default: the queue's backoff, which counts leases, breaker refusals included.
   */
  retryBackoff?: Backoff;
  onError?: (error: unknown) => void;
}

type Payload = { deliveryId: string };

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * The consumer side of §11.2: per channel queue, lease a job, claim its ledger row, call the
 * provider under the channel's policy, record the outcome. Ack means "nothing more to do for
 * this job": sent, already sent by someone else, or failed permanently (with the next fallback
 * channel queued). A retryable failure throws, so runWorker nacks it with the queue's backoff
 * (or the provider's Retry-After); on the last attempt the row is marked dead as the queue
 * dead-letters the job.
 */
export function handleDelivery(ctx: PipelineContext, options: DeliveryWorkerOptions) {
  return async (job: LeasedJob<Payload>): Promise<void> => {
    const id = job.payload.deliveryId;
    const claimed = await ctx.ledger.claim(id, job.leaseToken, ctx.clock.now(), options.visibilityMs);
    if (claimed.kind === 'busy') throw new RetryableError(`delivery ${id} is being sent by another worker`);
    if (claimed.kind !== 'claimed') return;
    const delivery = claimed.delivery;
    const token = job.leaseToken;
    const channel = options.channels.get(delivery.channel);
    let providerMessageId: string | null;
    try {
      if (!channel) throw new NoChannelError(delivery.channel);
      if (!delivery.message) throw new NoChannelError(delivery.channel);
      const message = delivery.message;
      const result = await options.policyFor(delivery.channel).execute(({ signal }) => channel.send(message, { idempotencyKey: id, signal }));
      providerMessageId = result.providerMessageId ?? null;
    } catch (err) {
      const now = ctx.clock.now();
      if (isInvalidContact(err) || isPermanent(err) || err instanceof NoChannelError) {
        if (isInvalidContact(err) && delivery.contactId !== null) await markContactInvalid(ctx, delivery, delivery.contactId, now);
        await ctx.ledger.release(id, token, 'failed', describe(err), now);
        await queueFallback(ctx, delivery);
        return;
      }
      if (err instanceof BrokenCircuitError) {
        // The provider was not called. Past the deadline, fall back, but only when there is a
        // channel to fall back to: without one the delivery waits for the breaker (failing it
        // would lose it). Not an attempt: it waits for the breaker, however many rounds that
        // takes, up to the job's lease ceiling.
        if (now - delivery.createdAt >= options.breakerFallbackMs && (await fallbackChannel(ctx, delivery)) !== undefined) {
          await ctx.ledger.release(id, token, 'failed', `${describe(err)} for longer than ${options.breakerFallbackMs} ms`, now);
          await queueFallback(ctx, delivery);
          return;
        }
        await ctx.ledger.release(id, token, job.attempt >= job.maxAttempts ? 'dead' : 'pending', describe(err), now);
        // Half-open answers 0 ("when the probe finishes"): a short wait, not a hot loop of leases.
        throw new RetryableError(err.message, { retryAfterMs: Math.max(err.retryAfterMs, HALF_OPEN_RETRY_MS), cause: err });
      }
      const tried = providerAttempts(delivery);
      const last = job.attempt >= job.maxAttempts || tried >= (options.maxAttempts ?? job.maxAttempts);
      await ctx.ledger.release(id, token, last ? 'dead' : 'pending', describe(err), now);
      // Out of provider attempts before the queue's lease ceiling: dead-letter the job now.
      if (last && job.attempt < job.maxAttempts) throw new PermanentError(describe(err), { cause: err });
      const retryAfterMs = (err as { retryAfterMs?: unknown } | null)?.retryAfterMs;
      if (options.retryBackoff && typeof retryAfterMs !== 'number' && (err as { retryable?: unknown } | null)?.retryable !== false) {
        throw new RetryableError(describe(err), { retryAfterMs: options.retryBackoff.delay(tried, 0), cause: err });
      }
      throw err instanceof Error ? err : new RetryableError(describe(err));
    }
    // The provider has it: recording that must not turn into a resend. A store hiccup here is
    // retried in place; only if the store stays down does the job go back (and the row, still
    // `sending`, is sent again after the claim lease: the documented duplicate window).
    await recordSent(ctx, id, token, providerMessageId);
  };
}

const RECORD_TRIES = 8;

/** Retry delay of a delivery refused by a half-open breaker (its probe is in flight). */
const HALF_OPEN_RETRY_MS = 500;
const BREAKER_REJECTION = `${new BrokenCircuitError('open', 0).name}:`;

/**
 * A permanent refusal of the address: the contact point becomes invalid. Contact points are
 * addressed by their recipient (with shards, it says which database holds them), which the
 * delivery row does not carry: its notification does (one read, on this rare path only).
 */
async function markContactInvalid(ctx: PipelineContext, delivery: Delivery, contactId: number, now: number): Promise<void> {
  const notification = await ctx.ledger.notificationOf(delivery);
  if (notification) await ctx.stores.contacts.markInvalid(delivery.accountId, notification.recipientId, contactId, now);
}

/**
 * Provider calls of this delivery so far, this one included: failed tries logged since the
 * last retry from the API, less those the breaker refused without calling the provider.
 */
function providerAttempts(delivery: Delivery): number {
  const since = delivery.log.findLastIndex((e) => e.event === 'retried by API');
  return 1 + delivery.log.slice(since + 1).filter((e) => e.event === 'retry' && !e.detail?.startsWith(BREAKER_REJECTION)).length;
}

async function recordSent(ctx: PipelineContext, id: string, token: string, providerMessageId: string | null): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await ctx.ledger.markSent(id, token, providerMessageId, ctx.clock.now());
      return;
    } catch (err) {
      if (attempt >= RECORD_TRIES) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 25 * 2 ** attempt)));
    }
  }
}

/** A delivery to a channel this process has no provider for (or a row without a message). */
class NoChannelError extends Error {
  constructor(channel: string) {
    super(`no provider is configured for channel ${channel}`);
    this.name = 'NoChannelError';
  }
}

/** The channel queueFallback would queue (without queueing it), or undefined when there is none. */
async function fallbackChannel(ctx: PipelineContext, failed: Delivery): Promise<ChannelName | undefined> {
  const notification = await ctx.ledger.notificationOf(failed);
  if (!notification) return undefined;
  const [category, contacts] = await Promise.all([
    ctx.stores.categories.find(notification.accountId, notification.category),
    ctx.stores.contacts.list(notification.accountId, notification.recipientId),
  ]);
  if (!category) return undefined;
  for (let next = nextFallback(category, failed.channel); next !== undefined; next = nextFallback(category, next)) {
    const kind = CONTACT_FOR_CHANNEL[next];
    if (kind === null || contacts.some((c) => c.kind === kind && c.valid)) return next;
  }
  return undefined;
}

/**
 * Queues the category's next fallback channel after `failed`, skipping channels the recipient
 * has no valid contact point for (each skip is logged on the failed row). Its ledger id is
 * deterministic, so a fallback queued twice (a redelivered job) is one row and one job.
 */
export async function queueFallback(ctx: PipelineContext, failed: Delivery): Promise<ChannelName | undefined> {
  const notification = await ctx.ledger.notificationOf(failed);
  if (!notification) return undefined;
  const [category, recipient, contacts] = await Promise.all([
    ctx.stores.categories.find(notification.accountId, notification.category),
    ctx.stores.recipients.find(notification.accountId, notification.recipientId),
    ctx.stores.contacts.list(notification.accountId, notification.recipientId),
  ]);
  if (!category || !recipient) return undefined;
  let next = nextFallback(category, failed.channel);
  while (next !== undefined) {
    const kind = CONTACT_FOR_CHANNEL[next];
    const contact = kind === null ? undefined : contacts.find((c) => c.kind === kind && c.valid);
    if (kind === null || contact) {
      const now = ctx.clock.now();
      const id = deliveryId(notification.id, next);
      try {
        const message = await buildMessage(ctx, { recipient, category: category.name, template: notification.template, data: notification.data, notificationId: notification.id }, next, contact);
        await ctx.ledger.addDelivery({ id, notificationId: notification.id, accountId: notification.accountId, channel: next, status: 'pending', reason: null, contactId: contact?.id ?? null, message, runAt: now, log: [{ at: now, event: 'queued', detail: `fallback from ${failed.channel}` }], createdAt: now });
        await enqueueDelivery(ctx, id, next, notification.priority, now);
        await ctx.ledger.appendLog(failed.id, { at: now, event: 'fallback', detail: next });
        return next;
      } catch (err) {
        await ctx.ledger.appendLog(failed.id, { at: now, event: 'fallback skipped', detail: `${next}: ${describe(err)}` });
      }
    } else {
      await ctx.ledger.appendLog(failed.id, { at: ctx.clock.now(), event: 'fallback skipped', detail: `${next}: no valid contact point` });
    }
    next = nextFallback(category, next);
  }
  return undefined;
}

/** One runWorker per channel that has a provider; close() closes them all. */
export function startDeliveryWorkers(ctx: PipelineContext, options: DeliveryWorkerOptions): { close(): Promise<void> } {
  const handler = handleDelivery(ctx, options);
  const workers: Worker[] = CHANNELS.filter((c) => options.channels.has(c)).map((c) =>
    runWorker<Payload>(ctx.queue, queueFor(c), handler, {
      concurrency: options.concurrency,
      visibilityMs: options.visibilityMs,
      ...(options.onError ? { onError: options.onError } : {}),
    }),
  );
  return {
    async close() {
      await Promise.all(workers.map((w) => w.close({ timeoutMs: 5000 })));
    },
  };
}

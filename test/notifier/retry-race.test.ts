import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueFor } from '../../src/notifier/notifications/ids.js';
import { retryDelivery } from '../../src/notifier/notifications/queries.js';
import type { PipelineContext } from '../../src/notifier/notifications/send.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';

/**
 * The API's retry of a dead delivery racing the worker that killed it: the worker marks the
 * ledger row dead, then nacks its job, which dead-letters it. A retry between the two finds no
 * dead job yet; the job it enqueues must not be deduplicated onto the one about to die, or the
 * row is pending with no job at all. Driven step by step (no workers: NOTIFY_WORKERS=0).
 */
describe('retry of a dead delivery while its job is still leased', () => {
  let t: TestApp;
  let ctx: PipelineContext;
  beforeAll(async () => {
    t = await makeTestApp({ NOTIFY_WORKERS: '0', NOTIFY_MAX_ATTEMPTS: '1' });
    ctx = t.container.notifications!;
  });
  afterAll(() => t.close());

  it('leaves the revived row with a job of its own', async () => {
    const key = t.adminKey;
    for (const [method, url, body] of [
      ['POST', '/api/v1/recipients', { id: 'r', contacts: [] }],
      ['POST', '/api/v1/categories', { name: 'c', default_channels: ['console'] }],
      ['PUT', '/api/v1/templates/t/console/en', { body: 'hi' }],
    ] as const) {
      expect((await t.call(method, url, { key, body })).statusCode).toBeLessThan(300);
    }
    const res = await t.call('POST', '/api/v1/notifications', { key, body: { recipient: 'r', category: 'c', template: 't' } });
    expect(res.statusCode).toBe(202);
    const deliveryId = JSON.parse(res.body).data.channels[0].delivery_id as string;
    const queue = queueFor('console');

    // The worker's last attempt: lease, claim, fail, mark the row dead …
    const [job] = await ctx.queue.lease<{ deliveryId: string }>(queue, { max: 1, visibilityMs: 30_000, waitMs: 0 });
    expect(job?.payload.deliveryId).toBe(deliveryId);
    expect((await ctx.ledger.claim(deliveryId, job!.leaseToken, t.clock.now(), 30_000)).kind).toBe('claimed');
    expect(await ctx.ledger.release(deliveryId, job!.leaseToken, 'dead', 'RetryableError: 503', t.clock.now())).toBe(true);
    // … the API retries before the worker's nack …
    const actor = { accountId: (await ctx.ledger.findDelivery(deliveryId))!.accountId, isAdmin: true, keyId: 'test' };
    expect((await retryDelivery(ctx, actor, deliveryId)).status).toBe('pending');
    // … and the nack dead-letters the old job.
    expect(await ctx.queue.nack(job!, { retryable: false, error: 'RetryableError: 503' })).toEqual({ kind: 'dead' });

    const [next] = await ctx.queue.lease<{ deliveryId: string }>(queue, { max: 1, visibilityMs: 30_000, waitMs: 0 });
    expect(next?.payload.deliveryId).toBe(deliveryId);
    expect((await ctx.ledger.claim(deliveryId, next!.leaseToken, t.clock.now(), 30_000)).kind).toBe('claimed');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Channel } from '../../src/notifier/channels/channel.js';
import { InvalidContactError } from '../../src/notifier/channels/errors.js';
import { handleDelivery, type DeliveryWorkerOptions } from '../../src/notifier/notifications/delivery-worker.js';
import { queueFor } from '../../src/notifier/notifications/ids.js';
import type { PipelineContext } from '../../src/notifier/notifications/send.js';
import type { FakeClock } from '../../src/platform/clock.js';
import { BrokenCircuitError, RetryableError } from '../../src/platform/resilience/errors.js';
import type { Policy } from '../../src/platform/resilience/policy.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { expectData } from '../http/support.js';

/**
 * The worker's failure branches, one job at a time with a FakeClock: the test leases the job
 * and calls the handler itself (NOTIFY_WORKERS=0), so each outcome is observed in the ledger.
 */
describe('delivery worker: breaker deadline and invalid contacts fall back', () => {
  let t: TestApp;
  let key: string;
  let ctx: PipelineContext;
  let clock: FakeClock;
  const FALLBACK_MS = 60_000;

  const passThrough: Policy = { _alt: undefined as never, execute: async (fn) => fn({ signal: new AbortController().signal }) };
  const options = (send: Channel['send'], policy: Policy = passThrough): DeliveryWorkerOptions => ({
    channels: new Map([['webhook', { name: 'webhook', send }]]),
    policyFor: () => policy,
    concurrency: 1,
    visibilityMs: 30_000,
    breakerFallbackMs: FALLBACK_MS,
  });
  const lease = async (channel: 'webhook' | 'console') => {
    const [job] = await ctx.queue.lease<{ deliveryId: string }>(queueFor(channel), { visibilityMs: 30_000 });
    return job;
  };
  const deliveries = async (id: string) =>
    Object.fromEntries((expectData(await t.call('GET', `/api/v1/notifications/${id}`, { key })).channels as any[]).map((c) => [c.channel, c]));

  beforeAll(async () => {
    t = await makeTestApp({ NOTIFY_WORKERS: '0' }, { clock: 'fake' });
    clock = t.clock as FakeClock;
    ctx = t.container.notifications!;
    key = await t.newAccountKey('w');
    for (const [method, url, body] of [
      ['POST', '/api/v1/recipients', { id: 'r', contacts: [{ kind: 'webhook', address: 'https://hooks.example.com/r' }] }],
      ['POST', '/api/v1/categories', { name: 'ops', default_channels: ['webhook'], fallback: ['webhook', 'console'] }],
      ['PUT', '/api/v1/templates/x/webhook/en', { body: 'x' }],
      ['PUT', '/api/v1/templates/x/console/en', { body: 'x' }],
    ] as const) {
      expect((await t.call(method, url, { key, body })).statusCode).toBeLessThan(300);
    }
  });
  afterAll(() => t.close());

  it('an open breaker retries until the deadline, then the delivery fails over to the next channel', async () => {
    const { id } = expectData(await t.call('POST', '/api/v1/notifications', { key, body: { recipient: 'r', category: 'ops', template: 'x' } }), 202);
    const open: Policy = { _alt: undefined as never, execute: () => Promise.reject(new BrokenCircuitError('open', 5000)) };
    const handler = handleDelivery(ctx, options(() => Promise.reject(new Error('not called')), open));

    const first = (await lease('webhook'))!;
    const err = await handler(first).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as RetryableError).retryAfterMs).toBe(5000);
    expect((await deliveries(id)).webhook).toMatchObject({ status: 'pending', attempts: 1 });
    expect(await lease('console')).toBeUndefined();
    await ctx.queue.nack(first, { delayMs: 0 });

    clock.advance(FALLBACK_MS);
    const second = (await lease('webhook'))!;
    await handler(second);
    const after = await deliveries(id);
    expect(after.webhook.status).toBe('failed');
    expect(after.webhook.last_error).toContain('open');
    expect(after.console).toMatchObject({ status: 'pending' });
    expect((await lease('console'))?.payload.deliveryId).toBe(`${id}.console`);
  });

  it('an invalid contact is marked invalid and the next channel is queued; a later send reports contact_invalid', async () => {
    const { id } = expectData(await t.call('POST', '/api/v1/notifications', { key, body: { recipient: 'r', category: 'ops', template: 'x' } }), 202);
    const handler = handleDelivery(ctx, options(() => Promise.reject(new InvalidContactError('gone', '410'))));
    await handler((await lease('webhook'))!);
    const after = await deliveries(id);
    expect(after.webhook).toMatchObject({ status: 'failed', attempts: 1 });
    expect(after.console.status).toBe('pending');
    const contacts = expectData(await t.call('GET', '/api/v1/recipients/r', { key })).contacts as any[];
    expect(contacts[0].valid).toBe(false);
    const next = expectData(await t.call('POST', '/api/v1/notifications', { key, body: { recipient: 'r', category: 'ops', template: 'x' } }), 202);
    expect(next.channels).toEqual([{ channel: 'webhook', status: 'suppressed', reason: 'contact_invalid' }]);
  });

  it('a redelivered job whose row is already sent acks without calling the provider again', async () => {
    await t.call('PATCH', '/api/v1/recipients/r/contacts/1', { key, body: { valid: true } });
    const { id } = expectData(await t.call('POST', '/api/v1/notifications', { key, body: { recipient: 'r', category: 'ops', template: 'x' } }), 202);
    let calls = 0;
    const handler = handleDelivery(ctx, options(async () => {
      calls += 1;
      return { providerMessageId: 'm1' };
    }));
    const job = (await lease('webhook'))!;
    await handler(job);
    await handler(job); // the same job again (a redelivery after a lost ack)
    expect(calls).toBe(1);
    expect((await deliveries(id)).webhook).toMatchObject({ status: 'sent', attempts: 1, provider_message_id: 'm1' });
  });
});

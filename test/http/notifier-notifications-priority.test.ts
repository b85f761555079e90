import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Channel, OutgoingMessage } from '../../src/notifier/channels/channel.js';
import { startDeliveryWorkers } from '../../src/notifier/notifications/delivery-worker.js';
import { deliveryId, queueFor } from '../../src/notifier/notifications/ids.js';
import { timeout } from '../../src/platform/resilience/timeout.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { expectData } from './support.js';

const LOW = 20_000;

/**
 * Priority through the whole pipeline: 20,000 low-priority deliveries are queued and being
 * worked through; one high-priority notification sent through the API then overtakes them.
 * The workers here are started by the test (NOTIFY_WORKERS=0) with a recording console channel.
 */
describe('notifications: a high-priority send overtakes a deep low-priority backlog', () => {
  let t: TestApp;
  let key: string;
  const delivered: string[] = [];
  let workers: { close(): Promise<void> } | undefined;

  beforeAll(async () => {
    t = await makeTestApp({ NOTIFY_WORKERS: '0' });
    key = await t.newAccountKey('prio');
    for (const [method, url, body] of [
      ['POST', '/api/v1/recipients', { id: 'p' }],
      ['POST', '/api/v1/categories', { name: 'bulk', default_channels: ['console'] }],
      ['PUT', '/api/v1/templates/hello/console/en', { subject: 'Hi', body: 'Hello {{ n }}' }],
    ] as const) {
      expect((await t.call(method, url, { key, body })).statusCode).toBeLessThan(300);
    }
  });
  afterAll(async () => {
    await workers?.close();
    await t.close();
  });

  it(`high is delivered before the next 100 of ${LOW.toLocaleString('en')} low`, async () => {
    const ctx = t.container.notifications!;
    const db = t.container.database.db;
    const accountId = (await db.selectFrom('notifier_recipients').select('account_id').where('id', '=', 'p').executeTakeFirstOrThrow()).account_id;
    const now = Date.now();
    for (let start = 0; start < LOW; start += 500) {
      const ids = Array.from({ length: Math.min(500, LOW - start) }, (_, i) => `ntf_low${String(start + i).padStart(8, '0')}`);
      await db
        .insertInto('notifier_notifications')
        .values(ids.map((id) => ({ id, account_id: accountId, recipient_id: 'p', category: 'bulk', template: 'hello', data: '{}', priority: 'low', send_at: null, created_at: now })))
        .execute();
      await db
        .insertInto('notifier_deliveries')
        .values(
          ids.map((id) => ({
            id: deliveryId(id, 'console'),
            notification_id: id,
            account_id: accountId,
            channel: 'console',
            status: 'pending',
            reason: null,
            contact_id: null,
            message: JSON.stringify({ channel: 'console', recipientId: 'p', title: 'Hi', body: id } satisfies OutgoingMessage),
            run_at: now,
            attempts: 0,
            claim_token: null,
            claimed_at: null,
            provider_message_id: null,
            last_error: null,
            log: '[]',
            created_at: now,
            updated_at: now,
          })),
        )
        .execute();
      await ctx.queue.enqueueBatch(
        queueFor('console'),
        ids.map((id) => ({ payload: { deliveryId: deliveryId(id, 'console') }, options: { priority: 'low' as const, dedupeKey: deliveryId(id, 'console') } })),
      );
    }
    const recording: Channel = {
      name: 'console',
      async send(message) {
        if (message.channel === 'console') delivered.push(message.body);
        return {};
      },
    };
    workers = startDeliveryWorkers(ctx, { channels: new Map([['console', recording]]), policyFor: () => timeout(1000), concurrency: 2, visibilityMs: 30_000, breakerFallbackMs: 60_000 });
    while (delivered.length < 50) await new Promise((r) => setTimeout(r, 5));

    const res = expectData(await t.call('POST', '/api/v1/notifications', { key, body: { recipient: 'p', category: 'bulk', template: 'hello', data: { n: 'HIGH' }, priority: 'high' } }), 202);
    const lowBefore = delivered.length;
    const deadline = Date.now() + 10_000;
    while (!delivered.includes('Hello HIGH') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    const at = delivered.indexOf('Hello HIGH');
    expect(at, 'the high-priority message was delivered').toBeGreaterThan(-1);
    const lowOvertaken = at - lowBefore;
    console.log(`priority: ${lowBefore} low delivered before the high was accepted; ${lowOvertaken} more low before it was delivered (${res.id})`);
    expect(lowOvertaken).toBeLessThan(100);
    expect(delivered.length).toBeLessThan(LOW);
  }, 60_000);
});

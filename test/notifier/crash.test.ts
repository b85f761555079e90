import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecordingServer, type RecordingServer } from '../channels/recording-server.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';

const N = 2000;
const KILLS = 5;
const WORKER = new URL('./crash-worker.ts', import.meta.url).pathname;

/**
 * The headline test: notifications accepted by this process (which only queues,
 * NOTIFY_WORKERS=0) are delivered by a separate worker process on the same SQLite file, which
 * is SIGKILLed at random points and restarted. Every accepted notification must reach the
 * webhook receiver; duplicates (same webhook-id twice) are counted, printed, and must not
 * exceed the number of kills (one delivery in flight per worker: the ledger's duplicate window).
 */
describe('crash: kill -9 the delivery worker while notifications flow', () => {
  let t: TestApp;
  let hook: RecordingServer;
  let child: ChildProcess | undefined;

  const startWorker = async (): Promise<ChildProcess> => {
    const proc = spawn(process.execPath, ['--import', 'tsx', WORKER, t.container.config.DATA_DIR], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      proc.stdout!.on('data', (b: Buffer) => b.toString().includes('ready') && resolve());
      proc.on('exit', (code) => reject(new Error(`worker exited early (${code})`)));
    });
    return proc;
  };
  const kill9 = (proc: ChildProcess) => new Promise<void>((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });

  beforeAll(async () => {
    hook = await startRecordingServer();
    t = await makeTestApp({ NOTIFY_WORKERS: '0' });
  });
  afterAll(async () => {
    if (child && child.exitCode === null) await kill9(child);
    await t.close();
    await hook.close();
  });

  it(`${N} notifications, ${KILLS} kills: all delivered, duplicates ≤ kills`, async () => {
    const key = await t.newAccountKey('crash');
    for (const [method, url, body] of [
      ['POST', '/api/v1/recipients', { id: 'c', contacts: [{ kind: 'webhook', address: `${hook.url}/c` }] }],
      ['POST', '/api/v1/categories', { name: 'load', default_channels: ['webhook'] }],
      ['PUT', '/api/v1/templates/t/webhook/en', { body: 'n={{ n }}' }],
    ] as const) {
      expect((await t.call(method, url, { key, body })).statusCode).toBeLessThan(300);
    }
    let accepted = 0;
    child = await startWorker();
    let kills = 0;
    const killer = (async () => {
      while (kills < KILLS) {
        await new Promise((r) => setTimeout(r, 300 + Math.random() * 700));
        await kill9(child!);
        kills += 1;
        child = await startWorker();
      }
    })();
    for (let b = 0; b < N / 500; b++) {
      const res = await t.call('POST', '/api/v1/notifications/batch', {
        key,
        body: { notifications: Array.from({ length: 500 }, (_, i) => ({ recipient: 'c', category: 'load', template: 't', data: { n: b * 500 + i } })) },
      });
      expect(res.statusCode).toBe(202);
      accepted += JSON.parse(res.body).data.accepted;
    }
    await killer;
    const ids = () => new Set(hook.requests.map((r) => String(r.headers['webhook-id'])));
    const sentRows = async () => Number((await t.container.database.db
      .selectFrom('notifier_deliveries')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'sent')
      .executeTakeFirstOrThrow()).n);
    // Wait for the ledger too: after the last kill, a delivery the receiver already has can still
    // be `sending`; it is resent (a counted duplicate) and marked sent only once its claim lease lapses.
    const deadline = Date.now() + 60_000;
    while ((ids().size < accepted || (await sentRows()) < accepted) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const unique = ids().size;
    const duplicates = hook.requests.length - unique;
    console.log(`crash test: accepted ${accepted}, delivered ${unique} distinct, ${hook.requests.length} requests, ${duplicates} duplicates, ${kills} kills`);
    const counts = new Map<string, number>();
    for (const r of hook.requests) counts.set(String(r.headers['webhook-id']), (counts.get(String(r.headers['webhook-id'])) ?? 0) + 1);
    const dup = [...counts].filter(([, n]) => n > 1).map(([id]) => id).slice(0, 6);
    for (const id of dup) {
      const row = await t.container.database.db.selectFrom('notifier_deliveries').select(['log', 'attempts']).where('id', '=', id).executeTakeFirst();
      console.log('DUP', id, row?.attempts, row?.log);
    }
    expect(accepted).toBe(N);
    expect(unique).toBe(N);
    expect(duplicates).toBeLessThanOrEqual(kills);
    expect(await sentRows()).toBe(N);
  }, 120_000);
});

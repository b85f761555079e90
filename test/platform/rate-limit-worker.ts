/**
 * Child process for the multi-process rate-limit test: one Redis connection, and for each
 * phase, `callers` concurrent loops per limiter calling consume() on the phase's key from
 * startAt until endAt. Started with an IPC channel: it says `ready` once its scripts are
 * loaded, receives the phases, and sends back per-limiter counts.
 */
import { Redis } from 'ioredis';
import { RedisRateLimiter } from '../../src/platform/rate-limit/redis-rate-limiter.js';
import type { RateLimitRule } from '../../src/platform/rate-limit/types.js';

export interface WorkerPhase {
  name: string;
  startAt: number;
  endAt: number;
  /** One hammered key per rule. */
  targets: { id: string; rule: RateLimitRule; prefix: string; key: string }[];
}

export interface WorkerCount {
  phase: string;
  id: string;
  admitted: number;
  refused: number;
  errors: number;
  /** Date.now() when this process sent its first check and got its last answer. */
  firstSentAt: number;
  lastAnsweredAt: number;
}

export type WorkerMessage = { type: 'ready' } | { type: 'done'; counts: WorkerCount[] } | { type: 'failed'; error: string };

const callers = Number(process.argv[3] ?? 64);
const redis = new Redis(process.argv[2] ?? '', { maxRetriesPerRequest: 1 });
const send = (m: WorkerMessage) => process.send?.(m);

async function hammer(phase: WorkerPhase): Promise<WorkerCount[]> {
  const limiters = phase.targets.map((t) => ({ target: t, limiter: new RedisRateLimiter(t.rule, { client: redis, prefix: t.prefix }) }));
  await Promise.all(limiters.map((l) => l.limiter.load()));
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, phase.startAt - Date.now())));
  return Promise.all(
    limiters.map(async ({ target, limiter }) => {
      const count: WorkerCount = { phase: phase.name, id: target.id, admitted: 0, refused: 0, errors: 0, firstSentAt: Infinity, lastAnsweredAt: 0 };
      await Promise.all(
        Array.from({ length: callers }, async () => {
          while (Date.now() < phase.endAt) {
            count.firstSentAt = Math.min(count.firstSentAt, Date.now());
            try {
              const d = await limiter.consume(target.key);
              if (d.allowed) count.admitted++;
              else count.refused++;
            } catch {
              count.errors++;
            }
            count.lastAnsweredAt = Math.max(count.lastAnsweredAt, Date.now());
          }
        }),
      );
      return count;
    }),
  );
}

process.on('message', (phases: WorkerPhase[]) => {
  void (async () => {
    try {
      const counts: WorkerCount[] = [];
      for (const phase of phases) counts.push(...(await hammer(phase)));
      send({ type: 'done', counts });
    } catch (err) {
      send({ type: 'failed', error: String(err) });
    } finally {
      redis.disconnect();
      process.disconnect();
    }
  })();
});

await redis.ping();
send({ type: 'ready' });

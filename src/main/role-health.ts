import { CHANNELS } from '../notifier/channel-names.js';
import { queueFor } from '../notifier/notifications/ids.js';
import type { HealthCheck } from '../platform/health/health.js';
import type { Container } from './container.js';
import type { Role } from './roles.js';

/**
 * The checks `tny serve` adds to the container's list for /health/detailed: this process
 * (role, pid, uptime) and, when the send pipeline is wired, its queue: depth (ready, delayed,
 * leased) and dead letters per channel queue. Dead letters make it a warning (degraded, still
 * 200): they wait for a person (GET /api/v1/deliveries?status=dead), not for a restart.
 */
export function roleHealthChecks(container: Container, role: Role, startedAt = Date.now()): HealthCheck[] {
  const checks: HealthCheck[] = [
    {
      name: 'process',
      check: async () => ({
        status: 'healthy',
        role,
        pid: process.pid,
        uptime_s: Math.round((Date.now() - startedAt) / 1000),
        delivery_workers: container.config.NOTIFY_WORKERS,
      }),
    },
  ];
  const pipeline = container.notifications;
  if (pipeline) {
    checks.push({
      name: 'queue',
      async check() {
        const started = performance.now();
        const queues: Record<string, { ready: number; delayed: number; leased: number; dead: number }> = {};
        let depth = 0;
        let dead = 0;
        for (const channel of CHANNELS) {
          const s = await pipeline.queue.stats(queueFor(channel));
          depth += s.ready + s.delayed + s.leased;
          dead += s.dead;
          if (s.ready + s.delayed + s.leased + s.dead > 0) queues[queueFor(channel)] = s;
        }
        return {
          status: dead > 0 ? 'warning' : 'healthy',
          adapter: pipeline.queue.constructor.name,
          latency_ms: Math.round((performance.now() - started) * 100) / 100,
          depth,
          dead,
          queues,
        };
      },
    });
  }
  return checks;
}

import type { FastifyInstance } from 'fastify';
import { runHealthChecks } from '../../platform/health/health.js';
import type { AppDeps } from '../deps.js';

/**
 * Chapter §3.3: `/health` says the process is up (liveness, for load balancers);
 * `/health/detailed` checks every dependency: 200 when healthy or degraded (a warning,
 * e.g. low disk), 503 when any dependency is unhealthy. It also says which role this process
 * runs (`tny serve --role`), so a load balancer's view shows api and worker processes apart.
 */
export function healthRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get('/health', { schema: { tags: ['operations'], summary: 'Liveness' } }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'ok' };
  });

  app.get('/health/detailed', { schema: { tags: ['operations'], summary: 'Dependency checks' } }, async (_request, reply) => {
    const report = await runHealthChecks(deps.health);
    reply.header('cache-control', 'no-store').code(report.status === 'unhealthy' ? 503 : 200);
    return { status: report.status, role: deps.config.TNY_ROLE, checks: report.checks };
  });
}

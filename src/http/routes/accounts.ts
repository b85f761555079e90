import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { TnyError } from '../../platform/errors.js';
import { CompensationStuckError, StepStuckError, type SagaRunner } from '../../platform/saga/runner.js';
import type { SagaRun } from '../../platform/saga/types.js';
import { startAccountDeletion } from '../../shortener/use-cases/delete-account.js';
import type { AppDeps } from '../deps.js';
import { ok } from '../envelope.js';
import { actorOf } from '../hooks/authenticate.js';
import * as S from '../schemas.js';

const tags = ['accounts'];
const security: Record<string, string[]>[] = [{ bearer: [] }, { apiKey: [] }];

const SagaRunDto = Type.Object({
  id: Type.String(),
  saga: Type.String(),
  state: Type.Union([Type.Literal('running'), Type.Literal('compensating'), Type.Literal('done'), Type.Literal('failed')]),
  error: Type.Union([Type.String(), Type.Null()]),
  steps: Type.Array(Type.Object({ name: Type.String(), status: Type.String() })),
  created_at: Type.String(),
  updated_at: Type.String(),
});

function runDto(run: SagaRun, sagas: SagaRunner) {
  const names = sagas.stepNames(run.name);
  return {
    id: run.id,
    saga: run.name,
    state: run.state,
    error: run.error,
    steps: run.steps.map((s, i) => ({ name: names[i] ?? `step ${i}`, status: s.status })),
    created_at: new Date(run.createdAt).toISOString(),
    updated_at: new Date(run.updatedAt).toISOString(),
  };
}

/**
 * DELETE /api/v1/accounts/{id} (admin): starts the account-deletion saga and answers 202 with
 * its run, driven in the background (and by `tny serve` at start if this process dies);
 * GET /api/v1/sagas/{id} (admin): where a run is. The CLI's `tny accounts delete` is the same use case.
 */
export function accountRoutes(app: FastifyInstance, deps: NonNullable<AppDeps['accountAdmin']>, logger: AppDeps['logger']): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { sagas } = deps;

  r.delete('/api/v1/accounts/:id', {
    schema: {
      tags,
      security,
      summary: 'Delete an account with its keys, links and notifier data (admin; a saga, answered 202)',
      params: Type.Object({ id: Type.Integer({ minimum: 1 }) }),
      response: { 202: S.success(SagaRunDto), ...S.errorResponses },
    },
    handler: async (request, reply) => {
      const { run } = await startAccountDeletion(
        { findAccountById: (id) => deps.accounts.findAccountById(id), findAccountByName: (n) => deps.accounts.findAccountByName(n), sagas, clock: deps.clock, unavailable: deps.unavailable },
        actorOf(request),
        { id: request.params.id },
      );
      if (run.state === 'running' || run.state === 'compensating') {
        void sagas.resumeRun(run.id).catch((err: unknown) => {
          const stuck = err instanceof StepStuckError || err instanceof CompensationStuckError;
          logger.warn({ err, run_id: run.id }, stuck ? 'account deletion is stuck; it is resumed later' : 'account deletion failed to run');
        });
      }
      return reply.code(202).header('location', `/api/v1/sagas/${encodeURIComponent(run.id)}`).send(ok(runDto(run, sagas)));
    },
  });

  r.get('/api/v1/sagas/:id', {
    schema: {
      tags,
      security,
      summary: 'A saga run: its state and steps (admin)',
      params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) }),
      response: { 200: S.success(SagaRunDto), ...S.errorResponses },
    },
    handler: async (request) => {
      if (!actorOf(request).isAdmin) throw new TnyError('FORBIDDEN', { message: 'only admin keys may see saga runs' });
      const run = await sagas.get(request.params.id);
      if (!run) throw new TnyError('SAGA_RUN_NOT_FOUND', { message: `no saga run has the id ${request.params.id}` });
      return ok(runDto(run, sagas));
    },
  });
}

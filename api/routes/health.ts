/**
 * GET /healthz (liveness: the process answers) and GET /readyz (readiness: it can do its work now,
 * each dependency checked within a bound; api/readiness.ts).
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../deps.js';
import { RETRY_LATER } from '../errors.js';
import { READINESS_CHECK_TIMEOUT_MS, readinessChecks, runChecks } from '../readiness.js';
import { readinessSchema } from '../schemas/readiness.js';

const healthSchema = z.object({ status: z.literal('ok') }).openapi('Health');

export function registerHealth(app: OpenAPIHono, deps: AppDeps): void {
  const live = createRoute({
    method: 'get',
    path: '/healthz',
    operationId: 'getHealth',
    tags: ['service'],
    summary: 'Liveness: the process is up',
    description: 'Answers 200 whenever the process answers at all, whatever its dependencies do (GET /readyz says whether it can work).',
    responses: { 200: { description: 'The process is up.', content: { 'application/json': { schema: healthSchema } } } },
  });
  app.openapi(live, (c) => c.json({ status: 'ok' as const }, 200));

  const checks = readinessChecks(deps);
  const ready = createRoute({
    method: 'get',
    path: '/readyz',
    operationId: 'getReadiness',
    tags: ['service'],
    summary: 'Readiness: this process can do its work now',
    description:
      'Each check within ' + READINESS_CHECK_TIMEOUT_MS + ' ms: `redis` takes a write to a key of warmbox\'s; `db` takes a write ' +
      '(its write lock, and room on its disk for the largest job record); where a worker runs in this process, `launcher` ' +
      '(its zygote answers) and `cgroups` (a sandbox cgroup can be made). 503 with Retry-After when any fails.',
    responses: {
      200: { description: 'Every check passed.', content: { 'application/json': { schema: readinessSchema } } },
      503: {
        description: 'A check failed (its `error` says why); retry after `Retry-After`.',
        headers: { 'Retry-After': { schema: { type: 'string' }, description: 'Seconds.' } },
        content: { 'application/json': { schema: readinessSchema } },
      },
    },
  });
  // Logged when readiness changes, not at every probe (an orchestrator asks every few seconds).
  let wasReady = true;
  app.openapi(ready, async (c) => {
    const results = await runChecks(checks);
    const isReady = results.every((r) => r.ok);
    if (isReady !== wasReady) {
      const failing = results.filter((r) => !r.ok).map((r) => ({ name: r.name, error: r.error }));
      if (isReady) deps.logger.info('ready again: every readiness check passes');
      else deps.logger.warn({ failing }, 'not ready: a readiness check fails');
      wasReady = isReady;
    }
    if (isReady) return c.json({ status: 'ready' as const, checks: results }, 200);
    return c.json({ status: 'not_ready' as const, checks: results }, 503, RETRY_LATER);
  });
}

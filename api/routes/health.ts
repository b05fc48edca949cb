/** GET /healthz: 200 when the db answers and the Redis connection is up, else 503. */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import type { AppDeps } from '../deps.js';

const healthSchema = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    checks: z.object({ db: z.enum(['ok', 'failing']), redis: z.string().openapi({ description: 'ioredis status: ready when up.' }) }),
  })
  .openapi('Health');

export function registerHealth(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'get',
    path: '/healthz',
    operationId: 'getHealth',
    tags: ['service'],
    summary: 'Whether this API process can serve',
    responses: {
      200: { description: 'Serving.', content: { 'application/json': { schema: healthSchema } } },
      503: { description: 'A dependency is down.', content: { 'application/json': { schema: healthSchema } } },
    },
  });

  app.openapi(route, (c) => {
    const db = dbAnswers(deps) ? 'ok' : 'failing';
    const redis = deps.redis.status;
    const ok = db === 'ok' && redis === 'ready';
    return ok
      ? c.json({ status: 'ok' as const, checks: { db, redis } }, 200)
      : c.json({ status: 'unavailable' as const, checks: { db, redis } }, 503);
  });
}

function dbAnswers(deps: AppDeps): boolean {
  try {
    deps.db.get(sql`select 1`);
    return true;
  } catch (err) {
    deps.logger.warn({ err }, 'healthz: the db does not answer');
    return false;
  }
}

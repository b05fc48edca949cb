/** GET /v1/queue: how many jobs wait and run across every worker (a load test drains it between phases). */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { errorResponse } from '../schemas/error.js';

const count = (description: string) => z.number().int().min(0).openapi({ description });

export const queueViewSchema = z
  .object({
    queued: count('Jobs no worker has taken yet.'),
    running: count('Jobs a worker has taken and not finished.'),
  })
  .openapi('QueueCounts');

export function registerQueue(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'get',
    path: '/v1/queue',
    operationId: 'getQueueCounts',
    tags: ['jobs'],
    summary: 'Jobs waiting and running',
    description: 'Counts of the shared jobs queue, over every worker; both 0: the service has nothing left to do.',
    responses: {
      200: { description: 'The counts.', content: { 'application/json': { schema: queueViewSchema } } },
      503: errorResponse('Redis is unavailable.'),
    },
  });
  app.openapi(route, async (c) => {
    try {
      return c.json(await deps.queue.counts(), 200);
    } catch (err) {
      deps.logger.error({ err }, 'GET /v1/queue: Redis command failed');
      throw new ApiError(503, 'redis_unavailable', `the jobs queue in Redis is unavailable (${(err as Error).message}); retry later`);
    }
  });
}

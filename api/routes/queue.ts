/** GET /v1/queue: how many jobs wait and run across every worker (a load test drains it between phases). */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../deps.js';
import { errorResponse } from '../schemas/error.js';
import { queueViewSchema } from '../schemas/queue.js';
import { readQueueView } from '../system-views.js';

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
      503: errorResponse('Redis is unavailable (redis_unavailable); retry after `Retry-After`.'),
    },
  });
  app.openapi(route, async (c) => c.json(await readQueueView(deps), 200));
}

/** GET /v1/judge/{id}/deliveries: a judge run's webhook deliveries (and a Judge0 submission's callback), each attempt with its outcome. */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { getJudgeRun } from '../../db/judge-runs.js';
import { listDeliveries } from '../../db/webhook-deliveries.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { errorResponse } from '../schemas/error.js';
import { deliveriesSchema } from '../schemas/deliveries.js';
import { toDeliveryView } from './job-deliveries.js';

const params = z.object({
  id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: '01JD3Z8Q8V6W7X9Y0Z1A2B3C4D' }),
});

export function registerJudgeDeliveries(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'get',
    path: '/v1/judge/{id}/deliveries',
    operationId: 'listJudgeRunDeliveries',
    tags: ['judge'],
    summary: "A judge run's webhook deliveries and their attempts",
    description:
      'The deliveries recorded when the run finished: `judge_run.finished` to its `webhook`, and `judge0.callback` to a Judge0 ' +
      "submission's `callback_url` (a PUT of Judge0's body), each with its state and every attempt. Empty before the run " +
      'finishes and for a run without either.',
    request: { params },
    responses: {
      200: { description: 'The deliveries, oldest first.', content: { 'application/json': { schema: deliveriesSchema } } },
      404: errorResponse('No such run of this tenant (judge_run_not_found).'),
    },
  });

  app.openapi(route, (c) => {
    const id = c.req.valid('param').id;
    if (getJudgeRun(deps.db, id, c.get('tenant').id) === undefined) throw new ApiError(404, 'judge_run_not_found', `judge run ${JSON.stringify(id)} not found`);
    return c.json({ deliveries: listDeliveries(deps.db, { judgeRunId: id }).map(toDeliveryView) }, 200);
  });
}

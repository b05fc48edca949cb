/** GET /v1/jobs/{id}/deliveries: the job's webhook deliveries, each attempt with its outcome. */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { listDeliveries, type DeliveryWithAttempts } from '../../db/webhook-deliveries.js';
import type { AppDeps } from '../deps.js';
import { errorResponse } from '../schemas/error.js';
import { deliveriesSchema, type DeliveriesView } from '../schemas/deliveries.js';
import { findJobOr404, jobIdParams } from './get-job.js';

export function registerJobDeliveries(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'get',
    path: '/v1/jobs/{id}/deliveries',
    operationId: 'listJobDeliveries',
    tags: ['jobs'],
    summary: "A job's webhook deliveries and their attempts",
    description:
      'Each delivery of the job (so far one: `job.finished`, recorded with the result of a job that has a webhook) with its ' +
      'state and every attempt: when, the status code, the latency and why it failed. Empty for a job without a webhook.',
    request: { params: jobIdParams },
    responses: {
      200: { description: 'The deliveries, oldest first.', content: { 'application/json': { schema: deliveriesSchema } } },
      404: errorResponse('No such job (job_not_found).'),
    },
  });

  app.openapi(route, (c) => {
    const job = findJobOr404(deps.db, c, c.req.valid('param').id);
    return c.json({ deliveries: listDeliveries(deps.db, job.id).map(toDeliveryView) }, 200);
  });
}

export function toDeliveryView(d: DeliveryWithAttempts): DeliveriesView['deliveries'][number] {
  return {
    id: d.id,
    event: d.event,
    url: d.url,
    state: d.state,
    createdAt: iso(d.createdAt),
    updatedAt: iso(d.updatedAt),
    attempts: d.attemptLog.map((a) => ({ attempt: a.attempt, at: iso(a.at), statusCode: a.statusCode, latencyMs: a.latencyMs, error: a.error })),
  };
}

const iso = (epochMs: number) => new Date(epochMs).toISOString();

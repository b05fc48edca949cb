/** POST /v1/jobs/{id}/cancel: stop a job — taken out of the queue, or its sandbox killed. */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../deps.js';
import { cancelJob } from '../job-cancel.js';
import { ApiError } from '../errors.js';
import { toJobView } from '../job-view.js';
import { errorResponse } from '../schemas/error.js';
import { jobViewSchema } from '../schemas/job-view.js';
import { findJobOr404, jobIdParams } from './get-job.js';

export function registerCancelJob(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'post',
    path: '/v1/jobs/{id}/cancel',
    operationId: 'cancelJob',
    tags: ['jobs'],
    summary: 'Cancel a job',
    description:
      'A queued job is taken out of the queue and finished at once with verdict `cancelled` (200). A running job is ' +
      'stopped by its worker: its sandbox and every process in it are killed, and it finishes with verdict `cancelled` ' +
      'shortly after (202; follow it with GET /v1/jobs/{id} or its events).',
    request: { params: jobIdParams },
    responses: {
      200: { description: 'The job was still queued: it is now finished, cancelled.', content: { 'application/json': { schema: jobViewSchema } } },
      202: { description: 'The job is running: its worker has been told to stop it.', content: { 'application/json': { schema: jobViewSchema } } },
      404: errorResponse('No such job (job_not_found).'),
      409: errorResponse('The job has already finished (job_finished).'),
    },
  });

  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const job = await findJobOr404(deps.db, c, id);
    if (job.status === 'finished') throw new ApiError(409, 'job_finished', `job ${id} has already finished (verdict ${job.verdict})`);
    const removed = await cancelJob(deps, id);
    const now = await findJobOr404(deps.db, c, id);
    // No worker ever had it: this is its end, and its one line (a worker logs the others').
    if (removed) deps.logger.info({ job: id, image: now.image, verdict: now.verdict }, 'job finished');
    return removed ? c.json(toJobView(now), 200) : c.json(toJobView(now), 202);
  });
}

/** GET /v1/jobs/{id}: the job as recorded. */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { WarmboxDb } from '../../db/client.js';
import { getJob } from '../../db/jobs.js';
import type { JobRow } from '../../db/schema.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { toJobView } from '../job-view.js';
import { errorResponse } from '../schemas/error.js';
import { jobViewSchema } from '../schemas/job-view.js';
import { visibleTo } from '../tenant-scope.js';

export const jobIdParams = z.object({
  id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: '01JD3Z8Q8V6W7X9Y0Z1A2B3C4D' }),
});

/** The job, when the caller may see it (api/tenant-scope.ts): another tenant's is as unknown. */
export async function findJobOr404(db: WarmboxDb, c: Context, id: string): Promise<JobRow> {
  const job = await getJob(db, id);
  if (job === undefined || !visibleTo(c, job.tenantId)) throw new ApiError(404, 'job_not_found', `job ${JSON.stringify(id)} not found`);
  return job;
}

export function registerGetJob(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'get',
    path: '/v1/jobs/{id}',
    operationId: 'getJob',
    tags: ['jobs'],
    summary: 'A job: its status and, once finished, its result',
    request: { params: jobIdParams },
    responses: {
      200: { description: 'The job.', content: { 'application/json': { schema: jobViewSchema } } },
      404: errorResponse('No such job (job_not_found).'),
    },
  });

  app.openapi(route, async (c) => c.json(toJobView(await findJobOr404(deps.db, c, c.req.valid('param').id)), 200));
}

/**
 * POST /v1/jobs/batch: many jobs in one request, all or none. Every job is validated (and its
 * image found or pulled) before anything is recorded; then all are recorded in one transaction
 * and enqueued in one Redis round trip, and only then acknowledged (api/job-submission.ts).
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../deps.js';
import type { ApiError } from '../errors.js';
import { idempotencyHeaderSchema, REPLAYED_HEADER, requestHash } from '../idempotency.js';
import { atIndex, submitJobs } from '../job-submission.js';
import { toJobView } from '../job-view.js';
import { parseJsonBody } from '../middleware/json-body.js';
import { REQUEST_BOUNDS } from '../request-bounds.js';
import { errorResponse } from '../schemas/error.js';
import { jobRequestSchema } from '../schemas/job-request.js';
import { jobViewSchema } from '../schemas/job-view.js';
import { validationError, validationHook } from '../validation-errors.js';
import { replayedHeaderDoc } from './create-job.js';

const batchResponseSchema = z
  .object({ jobs: z.array(jobViewSchema).openapi({ description: 'The recorded jobs, queued, in the order of the request.' }) })
  .openapi('JobBatch');

export function registerCreateJobBatch(app: OpenAPIHono, deps: AppDeps): void {
  const maxJobs = deps.config.maxBatchJobs ?? REQUEST_BOUNDS.batchJobs;
  const route = createRoute({
    method: 'post',
    path: '/v1/jobs/batch',
    operationId: 'createJobBatch',
    tags: ['jobs'],
    summary: 'Submit many jobs at once, all or none',
    description:
      `Up to ${maxJobs} jobs (the server's WARMBOX_BATCH_MAX_JOBS), each a JobRequest as for POST /v1/jobs. All are validated first, ` +
      'and their images found (or pulled on first use); one bad job refuses the whole batch, naming its index (`error.index`, and ' +
      '`error.field` as `jobs[3].limits.memoryBytes`), and nothing is recorded. Then every job is recorded in one transaction and ' +
      'queued in one Redis round trip; the answer comes after both. With an `Idempotency-Key`, a retry within 24 hours answers with ' +
      'the same jobs and runs nothing again.',
    middleware: [parseJsonBody] as const,
    request: {
      headers: idempotencyHeaderSchema,
      body: {
        required: true,
        content: { 'application/json': { schema: z.strictObject({ jobs: z.array(jobRequestSchema).min(1).max(maxJobs) }).openapi('JobBatchRequest') } },
      },
    },
    responses: {
      202: {
        description: 'Every job recorded and queued.',
        headers: { [REPLAYED_HEADER]: replayedHeaderDoc },
        content: { 'application/json': { schema: batchResponseSchema } },
      },
      400: errorResponse('Malformed JSON, or a job of the wrong shape: `error.index` names the first bad job, `error.field` its field.'),
      404: errorResponse('A job names an image that is not in the store and that its registry does not have (image_not_found, with `error.index`).'),
      409: errorResponse('A request with the same Idempotency-Key is still being processed (idempotency_key_in_use): retry after `Retry-After`.'),
      413: errorResponse('The body is larger than the server accepts.'),
      415: errorResponse('The body is not application/json.'),
      422: errorResponse(`More than ${maxJobs} jobs (field \`jobs\`), a job beyond a server bound (\`error.index\` names the first), or an Idempotency-Key used with another body (idempotency_key_reused).`),
      503: errorResponse('Nothing was recorded, retry after `Retry-After`: Redis is unreachable (queue_unavailable), the database cannot take writes (db_unavailable), or an image could not be pulled now.'),
      507: errorResponse("The server's disk is full (storage_full): nothing was recorded."),
    },
  });

  app.openapi(
    route,
    async (c) => {
      const { jobs } = c.req.valid('json');
      const key = c.req.valid('header')['idempotency-key'];
      const { rows, replayed } = await submitJobs(deps, jobs, {
        tenantId: c.get('tenant').id,
        idempotency: key === undefined ? undefined : { key, hash: requestHash('POST /v1/jobs/batch', await c.req.json()) },
        signal: c.req.raw.signal,
        fieldPrefix: (i) => `jobs[${i}]`,
      });
      if (replayed) c.header(REPLAYED_HEADER, 'true');
      return c.json({ jobs: rows.map(toJobView) }, 202);
    },
    batchValidationHook,
  );
}

/** The first bad job's error, as POST /v1/jobs would give it, with its index. */
function batchValidationHook(result: { success: boolean; error?: unknown; target?: string }, c: Parameters<typeof validationHook>[1]): undefined {
  if (result.success || result.target !== 'json') {
    validationHook(result, c);
    return undefined;
  }
  const issues = (result.error as { issues?: z.core.$ZodIssue[] }).issues ?? [];
  const indexOf = (i: z.core.$ZodIssue) => (i.path[0] === 'jobs' && typeof i.path[1] === 'number' ? i.path[1] : undefined);
  const indexed = issues.map(indexOf).filter((i): i is number => i !== undefined);
  if (indexed.length === 0) throw validationError(issues);
  const first = Math.min(...indexed);
  const own = issues.filter((i) => indexOf(i) === first).map((i) => ({ ...i, path: i.path.slice(2) }) as z.core.$ZodIssue);
  throw atIndex(validationError(own) as ApiError, first, `jobs[${first}]`);
}

/**
 * POST /v1/jobs: validate, pull the image on first use, record (queued), enqueue; with ?wait=true
 * hold until the job ends.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { JobRow } from '../../db/schema.js';
import type { AppDeps } from '../deps.js';
import { ApiError, RETRY_LATER } from '../errors.js';
import { idempotencyHeaderSchema, REPLAYED_HEADER, requestHash } from '../idempotency.js';
import { submitJobs } from '../job-submission.js';
import { jobLocation, toJobView } from '../job-view.js';
import { JobWaiter } from '../job-waiter.js';
import { parseJsonBody } from '../middleware/json-body.js';
import { errorResponse } from '../schemas/error.js';
import { jobRequestSchema, waitQuerySchema } from '../schemas/job-request.js';
import { jobViewSchema } from '../schemas/job-view.js';

/** The tenant's policy refuses the job (README "Quotas"); nothing was pulled or recorded. */
export const TENANT_403 =
  'The tenant\'s policy does not allow it: the image is not on its list (image_not_allowed, checked on the normalized reference before any pull), or the job asks for a network and the tenant may have none (network_not_allowed).';
/** The tenant's quotas on submissions; nothing was recorded. */
export const TENANT_429 =
  'The tenant\'s rate limit is used up (rate_limited; a batch takes one token per job, all or none) or it has as many jobs queued as its cap (too_many_queued): nothing was recorded; retry after `Retry-After` (seconds).';
export const retryAfterHeaderDoc = { schema: { type: 'integer' as const }, description: 'Seconds to wait before retrying.' };

export const replayedHeaderDoc = {
  schema: { type: 'string' as const, enum: ['true'] },
  description: 'Present when the answer is a replay: an earlier request with the same Idempotency-Key recorded this job.',
};

export function registerCreateJob(app: OpenAPIHono, deps: AppDeps): void {
  const { db, notifier, config } = deps;
  const route = createRoute({
    method: 'post',
    path: '/v1/jobs',
    operationId: 'createJob',
    tags: ['jobs'],
    summary: 'Run a command in a sandbox of an image',
    description:
      'Records the job and queues it. An image that is not in the store is pulled first, like `docker run` does ' +
      '(the request waits for the pull, up to the server\'s pull timeout; the job\'s `timings.pullMs` shows it). ' +
      'Without `wait`: 202 at once. With `wait=true`: the request is held ' +
      'until the job finishes (200 with the finished job) or until `timeout` passes (202 with the job as ' +
      'it is then, queued or running: follow it with GET /v1/jobs/{id} or its events). With an `Idempotency-Key`, a retry ' +
      'within 24 hours answers with the job the first request recorded and never runs it twice.',
    middleware: [parseJsonBody] as const,
    request: {
      query: waitQuerySchema(config.maxWaitMs, config.defaultWaitMs),
      headers: idempotencyHeaderSchema,
      body: { required: true, content: { 'application/json': { schema: jobRequestSchema } } },
    },
    responses: {
      200: {
        description: 'With wait=true: the finished job.',
        headers: { [REPLAYED_HEADER]: replayedHeaderDoc },
        content: { 'application/json': { schema: jobViewSchema } },
      },
      202: {
        description: 'Queued (or, with wait=true, still unfinished when the wait timed out).',
        headers: { Location: { schema: { type: 'string' }, description: 'The job: /v1/jobs/{id}' }, [REPLAYED_HEADER]: replayedHeaderDoc },
        content: { 'application/json': { schema: jobViewSchema } },
      },
      400: errorResponse('Malformed JSON or a field of the wrong shape (error.field names it).'),
      404: errorResponse('The image is not in the store and its registry has no such image, or refuses it (image_not_found).'),
      413: errorResponse('The body is larger than the server accepts.'),
      415: errorResponse('The body is not application/json.'),
      403: errorResponse(TENANT_403),
      409: errorResponse('A request with the same Idempotency-Key is still being processed (idempotency_key_in_use): retry after `Retry-After`.'),
      422: errorResponse('A value beyond a server bound: a limit above its maximum or below its minimum, too many files, ...; a limit above the tenant\'s cap (tenant_limit_exceeded, with `error.field` and `error.cap`); an image warmbox cannot run (image_unsupported); a webhook URL whose address is refused (webhook_target_refused); or an Idempotency-Key used with another body within 24 hours (idempotency_key_reused).'),
      429: { ...errorResponse(TENANT_429), headers: { 'Retry-After': retryAfterHeaderDoc } },
      502: errorResponse('The registry answered something unusable while pulling the image (registry_error).'),
      503: errorResponse('Nothing was recorded, retry after `Retry-After`: Redis is unreachable (queue_unavailable) or the database cannot take writes (db_unavailable); or the image\'s registry cannot be reached (registry_unreachable), limits pulls (registry_rate_limited), or the pull outlasted the pull timeout (pull_timeout); or the server is stopping (shutting_down); or more jobs wait for a worker than the server takes, or a new job would wait for one longer than it allows (overloaded).'),
      507: errorResponse('The server\'s disk is full (storage_full): nothing was recorded; retry after `Retry-After`.'),
    },
  });

  app.openapi(route, async (c) => {
    const request = c.req.valid('json');
    const query = c.req.valid('query');
    const key = c.req.valid('header')['idempotency-key'];
    let waiter: JobWaiter | undefined;
    const startWait = (row: JobRow) => {
      if (query.wait === 'true') waiter = JobWaiter.start(db, notifier, row, query.timeout ?? config.defaultWaitMs, c.req.raw.signal);
    };
    const { rows, replayed } = await submitJobs(deps, [request], {
      tenant: c.get('tenant'),
      idempotency: key === undefined ? undefined : { key, hash: requestHash('POST /v1/jobs', await c.req.json()) },
      signal: c.req.raw.signal,
      beforeEnqueue: (recorded) => startWait(recorded[0]!),
      onEnqueueFailed: () => waiter?.cancel(),
    });
    const queued = rows[0];
    // A replay whose job is gone: its first request's enqueue failed after all and took it back.
    if (queued === undefined) throw new ApiError(409, 'idempotency_key_in_use', `the job of Idempotency-Key ${JSON.stringify(key)} was not queued; retry`, {}, RETRY_LATER);
    if (replayed) {
      c.header(REPLAYED_HEADER, 'true');
      startWait(queued);
    }

    c.header('Location', jobLocation(queued.id));
    if (waiter === undefined) return c.json(toJobView(queued), 202);
    const job = (await waiter.result()) ?? queued;
    return job.status === 'finished' ? c.json(toJobView(job), 200) : c.json(toJobView(job), 202);
  });
}

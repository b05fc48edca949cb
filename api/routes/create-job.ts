/**
 * POST /v1/jobs: validate, pull the image on first use, record (queued), enqueue; with ?wait=true
 * hold until the job ends.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { createJob, deleteJob } from '../../db/jobs.js';
import type { JobPayload } from '../../contract/job-payload.js';
import type { AppDeps } from '../deps.js';
import { ApiError, RETRY_LATER } from '../errors.js';
import { imageInDb } from '../image-lookup.js';
import { ensureImage } from '../image-pull-on-use.js';
import { newJobId } from '../job-id.js';
import { toJobPayload } from '../job-payload-from-request.js';
import { jobLocation, toJobView } from '../job-view.js';
import { JobWaiter } from '../job-waiter.js';
import { parseJsonBody } from '../middleware/json-body.js';
import { errorResponse } from '../schemas/error.js';
import { jobRequestSchema, waitQuerySchema } from '../schemas/job-request.js';
import { jobViewSchema } from '../schemas/job-view.js';
import { epochMs } from '../../contract/epoch-ms.js';

export function registerCreateJob(app: OpenAPIHono, deps: AppDeps): void {
  const { db, notifier, config } = deps;
  const imageExists = deps.imageExists ?? imageInDb(deps);
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
      'it is then, queued or running: follow it with GET /v1/jobs/{id} or its events).',
    middleware: [parseJsonBody] as const,
    request: {
      query: waitQuerySchema(config.maxWaitMs, config.defaultWaitMs),
      body: { required: true, content: { 'application/json': { schema: jobRequestSchema } } },
    },
    responses: {
      200: { description: 'With wait=true: the finished job.', content: { 'application/json': { schema: jobViewSchema } } },
      202: {
        description: 'Queued (or, with wait=true, still unfinished when the wait timed out).',
        headers: { Location: { schema: { type: 'string' }, description: 'The job: /v1/jobs/{id}' } },
        content: { 'application/json': { schema: jobViewSchema } },
      },
      400: errorResponse('Malformed JSON or a field of the wrong shape (error.field names it).'),
      404: errorResponse('The image is not in the store and its registry has no such image, or refuses it (image_not_found).'),
      413: errorResponse('The body is larger than the server accepts.'),
      415: errorResponse('The body is not application/json.'),
      422: errorResponse('A value beyond a server bound: a limit above its maximum or below its minimum, too many files, ...; or an image warmbox cannot run (image_unsupported).'),
      502: errorResponse('The registry answered something unusable while pulling the image (registry_error).'),
      503: errorResponse('Nothing was recorded, retry after `Retry-After`: Redis is unreachable (queue_unavailable) or the database cannot take writes (db_unavailable); or the image\'s registry cannot be reached (registry_unreachable), limits pulls (registry_rate_limited), or the pull outlasted the pull timeout (pull_timeout).'),
      507: errorResponse('The server\'s disk is full (storage_full): nothing was recorded; retry after `Retry-After`.'),
    },
  });

  app.openapi(route, async (c) => {
    const request = c.req.valid('json');
    const query = c.req.valid('query');
    const { reference: image, pullMs } = await ensureImage(deps, request.image, c.req.raw.signal, imageExists);
    const id = newJobId();
    const createdAt = epochMs();
    const payload = toJobPayload(request, id, image, createdAt);
    if (pullMs > 0) payload.pullMs = pullMs;
    const queued = createJob(db, { id, image, request: payload, labels: request.labels ?? {}, webhookUrl: request.webhook?.url, createdAt: Math.floor(createdAt) });
    const waiter =
      query.wait === 'true' ? JobWaiter.start(db, notifier, id, query.timeout ?? config.defaultWaitMs, c.req.raw.signal) : undefined;
    await enqueue(deps, payload, waiter);

    c.header('Location', jobLocation(id));
    if (waiter === undefined) return c.json(toJobView(queued), 202);
    const job = (await waiter.result()) ?? queued;
    return job.status === 'finished' ? c.json(toJobView(job), 200) : c.json(toJobView(job), 202);
  });
}

/** A job that could not be queued never runs: its row goes, and the client gets a 503 to retry. */
async function enqueue(deps: AppDeps, payload: JobPayload, waiter: JobWaiter | undefined): Promise<void> {
  try {
    await deps.queue.add(payload);
  } catch (err) {
    waiter?.cancel();
    deleteJob(deps.db, payload.id);
    // Logged once, as the refusal (middleware/job-refusal-log.ts), with this cause.
    throw new ApiError(503, 'queue_unavailable', 'the job queue is unavailable: nothing was queued; retry later', {}, RETRY_LATER, err);
  }
}

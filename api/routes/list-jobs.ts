/** GET /v1/jobs: the jobs as a history, newest first, filtered, a page at a time. */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { listJobHistory, type JobHistoryQuery, type JobSummaryRow } from '../../db/job-history.js';
import type { AppDeps } from '../deps.js';
import { listedTenant } from '../tenant-scope.js';
import { ApiError } from '../errors.js';
import { decodeCursor, encodeCursor } from '../history-cursor.js';
import { normalizeOr400 } from '../image-pull-on-use.js';
import { REQUEST_BOUNDS } from '../request-bounds.js';
import { errorResponse } from '../schemas/error.js';
import { jobListQuerySchema, jobListSchema, type JobSummary } from '../schemas/job-list.js';
import type { z } from '@hono/zod-openapi';

export function registerListJobs(app: OpenAPIHono, deps: AppDeps): void {
  const route = createRoute({
    method: 'get',
    path: '/v1/jobs',
    operationId: 'listJobs',
    tags: ['jobs'],
    summary: 'The jobs, newest first, filtered, a page at a time',
    description:
      'A summary of each job (no request, no output), newest first. Filters combine (all must hold). Pages follow `next` ' +
      '(a cursor on the last job shown): jobs submitted while a client pages are newer, so they never shift a later page; ' +
      'no job is shown twice or skipped.',
    request: { query: jobListQuerySchema },
    responses: {
      200: { description: 'One page.', content: { 'application/json': { schema: jobListSchema } } },
      400: errorResponse('A filter of the wrong form (error.field names it), or a cursor this server did not give.'),
      403: errorResponse('`tenant` names another tenant and the key is not an admin key (forbidden).'),
      404: errorResponse('`tenant` names no tenant (tenant_not_found).'),
      422: errorResponse(`\`limit\` above ${REQUEST_BOUNDS.listJobsMaximum}.`),
    },
  });

  app.openapi(route, async (c) => {
    const query = c.req.valid('query');
    const page = await listJobHistory(deps.db, { ...historyQuery(query), tenantId: await listedTenant(deps, c, query.tenant) });
    return c.json({ jobs: page.jobs.map(toJobSummary), next: page.next === undefined ? null : encodeCursor(page.next) }, 200);
  });
}

function historyQuery(q: z.infer<typeof jobListQuerySchema>): JobHistoryQuery {
  return {
    status: q.status,
    verdict: q.verdict,
    image: q.image === undefined ? undefined : normalizeOr400(q.image),
    labels: labels(q.label ?? []),
    since: q.since,
    until: q.until,
    after: q.cursor === undefined ? undefined : decodeCursor(q.cursor),
    limit: q.limit ?? REQUEST_BOUNDS.listJobs,
  };
}

function labels(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq);
    if (key in out && out[key] !== pair.slice(eq + 1)) {
      throw new ApiError(400, 'invalid_request', `label: ${key} is asked with two values; no job has both`, { field: 'label', in: 'query' });
    }
    out[key] = pair.slice(eq + 1);
  }
  return out;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function toJobSummary(row: JobSummaryRow): JobSummary {
  return {
    id: row.id,
    tenantId: row.tenantId,
    status: row.status,
    image: row.image,
    verdict: row.verdict,
    exitCode: row.exitCode,
    createdAt: iso(row.createdAt)!,
    startedAt: iso(row.startedAt),
    finishedAt: iso(row.finishedAt),
    labels: row.labels,
  };
}

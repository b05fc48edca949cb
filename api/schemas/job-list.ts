/** GET /v1/jobs: its query (filters, cursor, limit) and its page of job summaries. */
import { z } from '@hono/zod-openapi';
import { VERDICTS } from '../../contract/verdict.js';
import { JOB_STATUSES } from '../../db/schema.js';
import { REQUEST_BOUNDS as B } from '../request-bounds.js';

/** A parameter that may come several times, or once with values separated by commas. */
function repeatable<T extends z.ZodType<string>>(item: T, description: string) {
  return z
    .preprocess((v) => (v === undefined ? undefined : [v].flat().flatMap((s) => String(s).split(','))), z.array(item).optional())
    .openapi({ param: { style: 'form', explode: true }, description });
}

/** Epoch milliseconds or an ISO 8601 date-time (`2026-12-01T12:00:00Z`), as epoch milliseconds. */
const instant = (description: string) =>
  z
    .string()
    .transform((s, ctx) => {
      const ms = /^\d{1,15}$/.test(s) ? Number(s) : /^\d{4}-\d{2}-\d{2}/.test(s) ? Date.parse(s) : Number.NaN;
      if (Number.isNaN(ms)) ctx.addIssue({ code: 'custom', message: 'must be epoch milliseconds or an ISO 8601 date-time' });
      return ms;
    })
    .optional()
    .openapi({ type: 'string', description, example: '2026-12-01T12:00:00Z' });

export const jobListQuerySchema = z.object({
  status: repeatable(z.enum(JOB_STATUSES), 'Only jobs in these statuses: `status=queued&status=running` or `status=queued,running`.'),
  image: z.string().min(1).max(B.imageChars).optional().openapi({ description: 'Only jobs of this image (normalized like a job\'s: busybox = docker.io/library/busybox:latest).' }),
  verdict: repeatable(z.enum(VERDICTS), 'Only finished jobs with one of these verdicts.'),
  label: repeatable(
    z.string().regex(/^[^=]+=/, 'must be KEY=VALUE'),
    'Only jobs with this label, `KEY=VALUE` (repeatable: every one must match).',
  ),
  since: instant('Only jobs created at or after this instant: epoch milliseconds or ISO 8601.'),
  until: instant('Only jobs created before this instant: epoch milliseconds or ISO 8601.'),
  tenant: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .openapi({ description: "Only this tenant's jobs (an id or a name). An admin key's listing has every tenant's without it; any other key sees only its own." }),
  cursor: z.string().max(512).optional().openapi({ description: 'The `next` of the previous page: the page after it. Opaque.' }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(B.listJobsMaximum)
    .optional()
    .openapi({ type: 'integer', minimum: 1, maximum: B.listJobsMaximum, description: `Jobs per page. Default ${B.listJobs}, at most ${B.listJobsMaximum} (above → 422).` }),
});

const timestamp = () => z.iso.datetime().openapi({ example: '2025-01-01T12:00:00.000Z' });

export const jobSummarySchema = z
  .object({
    id: z.string().openapi({ example: '01JD3Z8Q8V6W7X9Y0Z1A2B3C4D' }),
    tenantId: z.string().openapi({ example: 'ten_3f9c2a7d1b8e4c60' }),
    status: z.enum(JOB_STATUSES),
    image: z.string().openapi({ example: 'docker.io/library/busybox:latest' }),
    verdict: z.enum(VERDICTS).nullable().openapi({ description: 'null until the job is finished.' }),
    exitCode: z.number().int().nullable(),
    createdAt: timestamp(),
    startedAt: timestamp().nullable(),
    finishedAt: timestamp().nullable(),
    labels: z.record(z.string(), z.string()),
  })
  .openapi('JobSummary', { description: 'A job as listed: no request, no output (GET /v1/jobs/{id} has them).' });

export const jobListSchema = z
  .object({
    jobs: z.array(jobSummarySchema).openapi({ description: 'Newest first.' }),
    next: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next (older) page; null on the last page.' }),
  })
  .openapi('JobList');

export type JobSummary = z.infer<typeof jobSummarySchema>;

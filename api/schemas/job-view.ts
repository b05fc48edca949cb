/** What GET /v1/jobs/:id returns (DESIGN.md contract); `result` mirrors contract/job-payload.ts's JobResult. */
import { z } from '@hono/zod-openapi';
import { JOB_STATUSES } from '../../db/schema.js';
import { VERDICTS } from '../../contract/verdict.js';
import type { JobResult } from '../../contract/job-payload.js';

const ms = () => z.number().int().min(0);

export const jobResultSchema = z
  .object({
    verdict: z.enum(VERDICTS),
    exitCode: z.number().int().nullable(),
    signal: z.string().nullable().openapi({ example: 'SIGKILL' }),
    stdout: z.string(),
    stderr: z.string(),
    stdoutEncoding: z.literal('base64').optional().openapi({ description: 'Present when stdout is not valid UTF-8: it is then base64.' }),
    stderrEncoding: z.literal('base64').optional().openapi({ description: 'Present when stderr is not valid UTF-8: it is then base64.' }),
    stdoutTruncated: z.boolean(),
    stderrTruncated: z.boolean(),
    usage: z.object({ cpuTimeMs: ms(), wallTimeMs: ms(), memoryPeakBytes: z.number().int().min(0) }),
    start: z.enum(['warm', 'cold']),
    timings: z.object({ queuedMs: ms(), pullMs: ms(), acquireMs: ms(), runMs: ms(), totalMs: ms() }),
    error: z.string().optional().openapi({ description: 'For internal_error and lost: what went wrong.' }),
    interactor: z
      .object({
        verdict: z.enum(VERDICTS),
        exitCode: z.number().int().nullable(),
        signal: z.string().nullable(),
        stderr: z.string(),
        stderrEncoding: z.literal('base64').optional(),
        usage: z.object({ cpuTimeMs: ms(), wallTimeMs: ms(), memoryPeakBytes: z.number().int().min(0) }),
        error: z.string().optional(),
      })
      .optional()
      .openapi({ description: "An interactive judge test's job: how its interactor ended (its stdout went to the solution). The rest of the result is the solution's." }),
  })
  .openapi('JobResult');

const timestamp = () => z.iso.datetime().openapi({ example: '2025-01-01T12:00:00.000Z' });

export const jobViewSchema = z
  .object({
    id: z.string().openapi({ example: '01JD3Z8Q8V6W7X9Y0Z1A2B3C4D' }),
    tenantId: z.string().openapi({ description: 'Whose job it is: `local` on a server without auth.', example: 'ten_3f9c2a7d1b8e4c60' }),
    status: z.enum(JOB_STATUSES),
    image: z.string().openapi({ description: 'Normalized reference.', example: 'docker.io/library/busybox:latest' }),
    digest: z.string().nullable().openapi({ description: 'What the reference resolved to; null until the job starts.' }),
    createdAt: timestamp(),
    startedAt: timestamp().nullable(),
    finishedAt: timestamp().nullable(),
    labels: z.record(z.string(), z.string()),
    result: jobResultSchema.nullable().openapi({ description: 'null until the job is finished.' }),
  })
  .openapi('Job');

export type JobView = z.infer<typeof jobViewSchema>;

// The schema and the worker's type must describe the same object.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _resultSchemaMatchesJobResult: Same<z.infer<typeof jobResultSchema>, JobResult> = true;

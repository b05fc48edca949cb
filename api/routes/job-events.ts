/** GET /v1/jobs/{id}/events: live output as Server-Sent Events (see api/job-events-stream.ts). */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { OUTPUT_START } from '../../queue/output-stream.js';
import type { AppDeps } from '../deps.js';
import { streamJobEvents } from '../job-events-stream.js';
import { errorResponse } from '../schemas/error.js';
import { findJobOr404, jobIdParams } from './get-job.js';

const DEFAULT_KEEP_ALIVE_MS = 15_000;
const STREAM_ENTRY_ID = /^(0|[1-9]\d{0,19})-(0|[1-9]\d{0,19})$/;
const U64_MAX = 2n ** 64n - 1n;

/**
 * An event id as this stream sends them: a Redis stream entry id, two unsigned 64-bit numbers in
 * decimal without leading zeros.
 * Anything else would fail the stream's read after it started: it is refused before (400).
 */
function isStreamEntryId(id: string): boolean {
  const parts = STREAM_ENTRY_ID.exec(id);
  return parts !== null && BigInt(parts[1]!) <= U64_MAX && BigInt(parts[2]!) <= U64_MAX;
}

const lastEventIdHeader = z
  .string()
  .refine((id) => id === '' || isStreamEntryId(id), 'must be the id of an event of this stream (<milliseconds>-<sequence>, as sent)')
  .optional()
  .openapi({ description: 'Resume after this event id; empty or absent: from the start.', example: '1733011200000-0' });

export function registerJobEvents(app: OpenAPIHono, deps: AppDeps): void {
  const keepAliveMs = deps.config.sseKeepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
  const route = createRoute({
    method: 'get',
    path: '/v1/jobs/{id}/events',
    operationId: 'streamJobEvents',
    tags: ['jobs'],
    summary: "A job's output as it is written, then its end",
    description:
      'Server-Sent Events. `stdout` and `stderr` events carry `{"data", "encoding"}` with each chunk\'s bytes ' +
      'exactly (encoding `utf8`, or `base64` when the chunk is not valid UTF-8) and an event id; send it back ' +
      'as Last-Event-ID to resume after it. The last event is `end`, whose data is the finished job ' +
      '(as GET /v1/jobs/{id}). Output of a finished job is replayed while the server keeps it (an hour); ' +
      'after that only `end` is sent. Silence is broken by `: keep-alive` comments.',
    request: {
      params: jobIdParams,
      headers: z.object({ 'last-event-id': lastEventIdHeader }),
    },
    responses: {
      200: { description: 'The event stream.', content: { 'text/event-stream': { schema: z.string() } } },
      400: errorResponse('Last-Event-ID is not an event id of this stream (invalid_request; error.field is last-event-id).'),
      404: errorResponse('No such job (job_not_found).'),
    },
  });

  app.openapi(route, async (c) => {
    const job = await findJobOr404(deps.db, c, c.req.valid('param').id);
    const lastEventId = c.req.valid('header')['last-event-id'];
    const from = lastEventId ? lastEventId : OUTPUT_START;
    return streamSSE(c, async (sse) => {
      const clientGone = new AbortController();
      sse.onAbort(() => clientGone.abort());
      c.req.raw.signal.addEventListener('abort', () => clientGone.abort(), { once: true });
      try {
        await streamJobEvents(sse, deps, job.id, from, keepAliveMs, clientGone.signal);
      } catch (err) {
        deps.logger.error({ err, jobId: job.id }, 'job events: stream failed');
        await sse.writeSSE({
          event: 'error',
          data: JSON.stringify({ error: { code: 'internal_error', message: 'the output stream failed; reconnect to resume' } }),
        });
      }
    });
  });
}

/**
 * Judge runs: POST /v1/judge (build once, run every test, per-test verdicts), GET /v1/judge/{id},
 * GET /v1/judge/{id}/events (progress per test as Server-Sent Events), GET /v1/languages.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { setTimeout as sleep } from 'node:timers/promises';
import { streamSSE } from 'hono/streaming';
import type { JudgeRunView } from '../../contract/judge.js';
import { mergeLanguages } from '../../contract/languages.js';
import { getJudgeRun } from '../../db/judge-runs.js';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { startJudgeRun } from '../judge-run.js';
import { parseJsonBody } from '../middleware/json-body.js';
import { errorResponse } from '../schemas/error.js';
import { waitQuerySchema } from '../schemas/job-request.js';
import { judgeRequestSchema, judgeRunViewSchema, languageSchema } from '../schemas/judge.js';

const judgeIdParams = z.object({
  id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: '01JD3Z8Q8V6W7X9Y0Z1A2B3C4D' }),
});

/** How often an event stream looks at the run's record for steps that ended. */
const EVENTS_POLL_MS = 100;

export function registerJudge(app: OpenAPIHono, deps: AppDeps): void {
  const languages = mergeLanguages(deps.config.languages);
  const findRun = (id: string, tenantId: string): JudgeRunView => {
    const row = getJudgeRun(deps.db, id, tenantId);
    if (row === undefined) throw new ApiError(404, 'judge_run_not_found', `judge run ${JSON.stringify(id)} not found`);
    return row.view;
  };

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/judge',
      operationId: 'createJudgeRun',
      tags: ['judge'],
      summary: 'Build a solution once and run it against every test, with a verdict per test',
      description:
        'The build (a language\'s, or `build`) runs once in a sandbox under `buildLimits`; what it writes becomes a layer on the image, and ' +
        'each test runs in a fresh sandbox of image + build layer as an ordinary job (any worker may take it), its output compared with ' +
        '`expected` by `compare`. Verdicts per test: accepted, wrong_answer, time_limit, memory_limit, runtime_error, output_limit ' +
        '(skipped after a failure with stopOnFirstFailure); the run\'s verdict is compile_error, the first failing test\'s, or accepted. ' +
        'With `interactor`, each test runs the solution and the interactor at once, each in its own sandbox, connected stdout to stdin ' +
        'both ways (testlib-style; interactor_error when the interactor fails). ' +
        'Without `wait`: 202 at once; with `wait=true`: 200 with the finished run, or 202 when `timeout` passes first.',
      middleware: [parseJsonBody] as const,
      request: {
        query: waitQuerySchema(deps.config.maxWaitMs, deps.config.defaultWaitMs),
        body: { required: true, content: { 'application/json': { schema: judgeRequestSchema } } },
      },
      responses: {
        200: { description: 'With wait=true: the finished run.', content: { 'application/json': { schema: judgeRunViewSchema } } },
        202: {
          description: 'Accepted (or, with wait=true, unfinished when the wait timed out).',
          headers: { Location: { schema: { type: 'string' }, description: 'The run: /v1/judge/{id}' } },
          content: { 'application/json': { schema: judgeRunViewSchema } },
        },
        400: errorResponse('Malformed JSON or a field of the wrong shape (error.field names it).'),
        404: errorResponse('A test names a blob this server does not store (blob_not_found), or the image is not found (image_not_found).'),
        413: errorResponse('The body is larger than the server accepts.'),
        415: errorResponse('The body is not application/json.'),
        422: errorResponse('An unknown language (unknown_language), too many tests or too much test data, a limit beyond its bound; an image warmbox cannot run (image_unsupported).'),
        502: errorResponse('The registry answered something unusable while pulling the image (registry_error).'),
        503: errorResponse('The image\'s registry cannot be reached or the pull outlasted the pull timeout, or the server is stopping: retry after `Retry-After`.'),
      },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const started = await startJudgeRun(deps, c.req.valid('json'), c.get('tenant'), languages, c.req.raw.signal);
      c.header('Location', `/v1/judge/${started.view.id}`);
      if (query.wait !== 'true') {
        started.done.catch(() => undefined);
        return c.json(started.view, 202);
      }
      const timeoutMs = query.timeout ?? deps.config.defaultWaitMs;
      const wait = new AbortController();
      const timedOut = sleep(timeoutMs, undefined, { signal: wait.signal }).catch(() => undefined);
      const finished = await Promise.race([started.done, timedOut]);
      wait.abort();
      // Unfinished: the wait timed out, or another process took the run over (this one paused past its lease).
      return finished?.status === 'finished' ? c.json(finished, 200) : c.json(findRun(started.view.id, c.get('tenant').id), 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/judge/{id}',
      operationId: 'getJudgeRun',
      tags: ['judge'],
      summary: 'A judge run: its build, each test\'s verdict and usage, its verdict once finished',
      request: { params: judgeIdParams },
      responses: {
        200: { description: 'The run.', content: { 'application/json': { schema: judgeRunViewSchema } } },
        404: errorResponse('No such run of this tenant (judge_run_not_found).'),
      },
    }),
    (c) => c.json(findRun(c.req.valid('param').id, c.get('tenant').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/judge/{id}/events',
      operationId: 'streamJudgeRunEvents',
      tags: ['judge'],
      summary: 'A judge run\'s progress as Server-Sent Events',
      description:
        'A `build` event when the build ends (data: the build), a `test` event as each test ends (data: the test, with its verdict and ' +
        'usage), and last an `end` event with the finished run (as GET /v1/judge/{id}). Steps that ended before the client connected ' +
        'are sent first.',
      request: { params: judgeIdParams },
      responses: {
        200: { description: 'The event stream.', content: { 'text/event-stream': { schema: z.string() } } },
        404: errorResponse('No such run of this tenant (judge_run_not_found).'),
      },
    }),
    (c) => {
      const tenantId = c.get('tenant').id;
      const id = c.req.valid('param').id;
      findRun(id, tenantId);
      return streamSSE(c, async (sse) => {
        let gone = false;
        sse.onAbort(() => {
          gone = true;
        });
        const sent = new Set<number>();
        let buildSent = false;
        while (!gone) {
          const view = findRun(id, tenantId);
          if (!buildSent && view.build?.status === 'finished') {
            buildSent = true;
            await sse.writeSSE({ event: 'build', data: JSON.stringify(view.build) });
          }
          for (const test of view.tests) {
            if (test.status !== 'finished' || sent.has(test.index)) continue;
            sent.add(test.index);
            await sse.writeSSE({ event: 'test', data: JSON.stringify(test), id: String(test.index) });
          }
          if (view.status === 'finished') {
            await sse.writeSSE({ event: 'end', data: JSON.stringify(view) });
            return;
          }
          await sse.sleep(EVENTS_POLL_MS);
        }
      });
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/languages',
      operationId: 'listLanguages',
      tags: ['judge'],
      summary: 'The language presets of judge runs',
      description: 'Built-in presets plus the configured ones (WARMBOX_LANGUAGES_FILE). Any image can be a language.',
      responses: { 200: { description: 'The presets.', content: { 'application/json': { schema: z.array(languageSchema) } } } },
    }),
    (c) => c.json(languages, 200),
  );
}

/**
 * The HTTP floor of the server CPU benchmark: the libraries warmbox's API is made of (hono with
 * @hono/zod-openapi on @hono/node-server), with one route that validates a job body and answers a
 * finished job's JSON, and nothing else: no db, no queue. bench/server-cpu.ts drives it with the
 * same client and rate as the real service and reads its CPU from /proc, so warmbox's API can be
 * read against what its HTTP stack alone costs on the same machine in the same run.
 *
 * Usage: node dist/bench/floors/http-floor.js → prints `listening <port>`, serves until SIGTERM.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';

const jobBody = z.object({ image: z.string().min(1), cmd: z.array(z.string()).min(1) });
const finished = (image: string) => ({
  id: '01FLOOR', status: 'finished', image, createdAt: new Date().toISOString(),
  result: { verdict: 'ok', exitCode: 0, signal: null, stdout: '', stderr: '', usage: { cpuTimeMs: 0, wallTimeMs: 0, memoryPeakBytes: 0 } },
});

const app = new OpenAPIHono();
app.openapi(
  createRoute({
    method: 'post',
    path: '/v1/jobs',
    request: { body: { required: true, content: { 'application/json': { schema: jobBody } } } },
    responses: { 200: { description: 'the job, finished' } },
  }),
  (c) => c.json(finished(c.req.valid('json').image), 200),
);
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => console.log(`listening ${info.port}`));
process.once('SIGTERM', () => server.close(() => process.exit(0)));

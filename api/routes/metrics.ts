/**
 * GET /metrics: this process's metrics in the Prometheus text format (README "Observability"),
 * rendered by the server's telemetry (server/telemetry.ts) at each scrape.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../deps.js';

export const METRICS_PATH = '/metrics';

export function registerMetrics(app: OpenAPIHono, deps: AppDeps): void {
  const metrics = deps.metrics;
  if (!metrics) return;
  const route = createRoute({
    method: 'get',
    path: METRICS_PATH,
    operationId: 'getMetrics',
    tags: ['service'],
    summary: "This process's metrics, for Prometheus",
    description:
      'Jobs (latency by image, start kind and verdict; phases), the queue, warm pools, image pulls, ' +
      'and the process, in the Prometheus text exposition format 0.0.4. A process with a worker ' +
      "includes that worker's metrics.",
    responses: {
      200: { description: 'The metrics.', content: { [metrics.contentType]: { schema: z.string() } } },
    },
  });
  // A text body: OpenAPIHono types a route's answers from JSON schemas, so c.body's Response is cast.
  app.openapi(route, async (c) => c.body(await metrics.render(), 200, { 'content-type': metrics.contentType }) as never);
}

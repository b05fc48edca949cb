/**
 * GET /v1/system/status: the service at a glance (`warmbox status`, like `docker info`): this API
 * process, its readiness, every worker, the pools and the queue. It reads what GET /v1/pools,
 * GET /v1/queue and GET /readyz read (api/system-views.ts, api/readiness.ts); while Redis is
 * unavailable it still answers, with the Redis-backed parts null and readiness saying why.
 */
import { hostname } from 'node:os';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { WorkerPoolStatus } from '../../contract/pools.js';
import { processVersions } from '../../contract/versions.js';
import type { AppDeps } from '../deps.js';
import { readinessChecks, runChecks } from '../readiness.js';
import { systemStatusSchema } from '../schemas/system-status.js';
import { readPoolsView, readQueueView } from '../system-views.js';

export function registerSystemStatus(app: OpenAPIHono, deps: AppDeps): void {
  const checks = readinessChecks(deps);
  const startedAt = Date.now() - Math.round(process.uptime() * 1000);
  const route = createRoute({
    method: 'get',
    path: '/v1/system/status',
    operationId: 'getSystemStatus',
    tags: ['service'],
    summary: 'The service at a glance: this API process, readiness, workers, pools, queue, versions',
    description:
      'Workers come from the pool registry (each publishes every second), pools are parked sandboxes per image over every worker, ' +
      'the queue is GET /v1/queue, readiness is GET /readyz. Answers 200 also when not ready: `readiness.status` says so, and ' +
      'the parts read from Redis are null while it is unavailable.',
    responses: { 200: { description: 'The status.', content: { 'application/json': { schema: systemStatusSchema } } } },
  });
  app.openapi(route, async (c) => {
    const [results, pools, queue] = await Promise.all([runChecks(checks), readPoolsView(deps).catch(() => undefined), readQueueView(deps).catch(() => undefined)]);
    return c.json(
      {
        api: { hostname: hostname(), pid: process.pid, startedAt, uptimeS: Math.round(process.uptime()), versions: processVersions() },
        readiness: { status: results.every((r) => r.ok) ? ('ready' as const) : ('not_ready' as const), checks: results },
        workers: pools ? pools.workers.map(workerSummary) : null,
        pools: pools ? parkedPerImage(pools.workers) : null,
        queue: queue ?? null,
      },
      200,
    );
  });
}

function workerSummary(w: WorkerPoolStatus) {
  return {
    id: w.id,
    hostname: w.hostname,
    pid: w.pid,
    concurrency: w.concurrency,
    runningJobs: w.runningJobs ?? null,
    parked: w.parkedTotal,
    startedAt: w.startedAt,
    lastHeartbeat: w.updatedAt,
    versions: w.versions ?? null,
  };
}

/** Parked and being made, per image, summed over the workers (one pool per image and disk size on each). */
function parkedPerImage(workers: WorkerPoolStatus[]) {
  const byImage = new Map<string, { image: string; parked: number; creating: number; workers: Set<string> }>();
  for (const w of workers) {
    for (const p of w.pools) {
      const entry = byImage.get(p.image) ?? { image: p.image, parked: 0, creating: 0, workers: new Set<string>() };
      entry.parked += p.parked;
      entry.creating += p.creating;
      entry.workers.add(w.id);
      byImage.set(p.image, entry);
    }
  }
  return [...byImage.values()].sort((a, b) => a.image.localeCompare(b.image)).map((e) => ({ image: e.image, parked: e.parked, creating: e.creating, workers: e.workers.size }));
}

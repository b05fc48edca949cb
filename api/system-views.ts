/**
 * What GET /v1/queue, /v1/pools, /v1/system/df and /v1/system/status read from Redis, computed
 * once here and shared by those routes. Every read is bounded: ioredis holds commands while it is
 * disconnected (FACTS.md), so a read fails at once when the connection is down and after
 * REDIS_READ_TIMEOUT_MS when Redis hangs, as a 503 `redis_unavailable` with Retry-After.
 */
import type { z } from '@hono/zod-openapi';
import type { WorkerStoreUsage } from '../contract/disk-usage.js';
import type { StoredPoolBounds, WorkerPoolStatus } from '../contract/pools.js';
import { PoolRegistry } from '../queue/pool-registry.js';
import { readStoreUsage } from '../queue/store-usage.js';
import type { AppDeps } from './deps.js';
import { ApiError, RETRY_LATER } from './errors.js';
import type { queueViewSchema } from './schemas/queue.js';

export const REDIS_READ_TIMEOUT_MS = 2000;

export type QueueView = z.infer<typeof queueViewSchema>;

export interface PoolsView {
  workers: WorkerPoolStatus[];
  bounds: StoredPoolBounds[];
}

/** Jobs waiting and running over every worker, and how long the oldest waiting one has waited. */
export function readQueueView(deps: AppDeps, now = Date.now()): Promise<QueueView> {
  return redisOr503(deps, 'the jobs queue', async () => {
    const { queued, running, oldestAgeMs } = await deps.queue.depth(now);
    return { queued, running, oldestQueuedAgeMs: queued === 0 ? null : oldestAgeMs };
  });
}

/** Every live worker's pools as it last published them, and the bounds set per image. */
export function readPoolsView(deps: AppDeps, registry: PoolRegistry = new PoolRegistry(deps.redis)): Promise<PoolsView> {
  return redisOr503(deps, 'the pool registry', async () => {
    const [workers, bounds] = await Promise.all([registry.listStatuses(), registry.allBounds()]);
    return { workers, bounds };
  });
}

/** Every live worker's snapshot store usage. */
export function readStoreUsageView(deps: AppDeps): Promise<WorkerStoreUsage[]> {
  return redisOr503(deps, 'the store usage records', () => readStoreUsage(deps.redis));
}

/** Runs a Redis read or write, bounded; any failure becomes 503 redis_unavailable naming `what`. */
export async function redisOr503<T>(deps: AppDeps, what: string, fn: () => Promise<T>): Promise<T> {
  const status = deps.redis.status;
  const unavailable = (why: string, cause?: unknown) => {
    deps.logger.warn({ err: cause, what }, `answering 503: ${what} in Redis is unavailable (${why})`);
    return new ApiError(503, 'redis_unavailable', `${what} in Redis is unavailable (${why}); retry later`, {}, RETRY_LATER, cause);
  };
  if (status !== 'ready' && status !== 'wait') throw unavailable(`Redis is not connected: ${status}`);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unavailable(`no answer within ${REDIS_READ_TIMEOUT_MS} ms`)), REDIS_READ_TIMEOUT_MS);
  });
  try {
    return await Promise.race([fn(), timedOut]);
  } catch (err) {
    throw err instanceof ApiError ? err : unavailable((err as Error).message, err);
  } finally {
    clearTimeout(timer);
  }
}

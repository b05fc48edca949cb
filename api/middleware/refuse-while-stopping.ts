/**
 * While the server stops (SIGTERM or SIGINT, README "Stopping"), it takes no new work: job
 * submissions and image operations answer 503 `shutting_down` with Retry-After, so that a client
 * or a load balancer sends them to another instance or again after the restart. Everything else
 * still answers until the listener closes at the end of the stop: job status, event streams,
 * cancels of running jobs, pool bounds.
 */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../errors.js';

/** Seconds a client is told to wait: about what a restart of warmbox takes. */
export const STOPPING_RETRY_AFTER_S = 5;

/** Methods that start work on the paths this middleware is mounted on (reads pass). */
const NEW_WORK = new Set(['POST', 'PUT', 'DELETE']);

export function refuseWhileStopping(stopping: () => boolean): MiddlewareHandler {
  return async function refuseWhileStopping(c, next) {
    if (stopping() && NEW_WORK.has(c.req.method)) {
      throw new ApiError(503, 'shutting_down', 'the server is stopping and takes no new work; retry after `Retry-After` (against another instance, or after its restart)', {}, {
        'Retry-After': String(STOPPING_RETRY_AFTER_S),
      });
    }
    await next();
  };
}

/**
 * Closing a Redis connection in bounded time. ioredis' quit() sends QUIT like any command: while
 * Redis is unreachable it waits in the offline queue until Redis returns, so a server stopping
 * after an outage would hang for good. A ready connection gets QUIT (which lets Redis finish
 * replying to what was sent) for at most timeoutMs; then, or at once when it is not ready, the
 * connection is dropped: no reconnect, and its socket destroyed (a Redis that hangs never answers
 * the half-close that disconnect() sends).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';

export const REDIS_QUIT_TIMEOUT_MS = 2000;

export async function closeRedis(redis: Redis, timeoutMs = REDIS_QUIT_TIMEOUT_MS): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status === 'ready') await Promise.race([redis.quit().catch(() => undefined), sleep(timeoutMs)]);
  if ((redis.status as string) === 'end') return;
  redis.disconnect();
  redis.stream?.destroy();
}

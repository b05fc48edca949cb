/**
 * Whether Redis takes writes now (GET /readyz): a SET of a key of ours, not only a PING, so that a
 * Redis that answers but refuses writes (out of memory under `noeviction`, a read-only replica,
 * a full disk with `stop-writes-on-bgsave-error`) is not ready either.
 */
import type { Redis } from 'ioredis';
import { READINESS_PROBE_TTL_S, readinessProbeKey } from './redis-keys.js';

/**
 * Resolves once the write is acknowledged. Fails at once while the connection is down (ioredis
 * would hold the command in its offline queue); the caller bounds the wait on a Redis that hangs.
 */
export async function probeRedisWrites(redis: Redis, processId: string): Promise<void> {
  if (redis.status !== 'ready') throw new Error(`Redis is not connected (${redis.status})`);
  await redis.set(readinessProbeKey(processId), String(Date.now()), 'EX', READINESS_PROBE_TTL_S);
}

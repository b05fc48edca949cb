/**
 * The reconcile lock (RECONCILE_LOCK): one process at a time compares the db with the jobs queue,
 * so two sweeps never re-queue or finish the same job at once. SET NX with a TTL (a holder that
 * dies frees it when the TTL ends); only the holder's token deletes it.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RECONCILE_LOCK } from './redis-keys.js';

/** KEYS[1] the lock; ARGV[1] the holder's token. Deletes the lock only if the token still holds it. */
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

export interface HeldLock {
  release(): Promise<void>;
}

/** The lock for ttlMs, or undefined when another process holds it. `redis` is shared. */
export function acquireReconcileLock(redis: Redis, ttlMs: number): Promise<HeldLock | undefined> {
  return acquireLock(redis, RECONCILE_LOCK, ttlMs);
}

/** Any such lock (the retention sweep's too, RETENTION_LOCK), the same way. */
export async function acquireLock(redis: Redis, key: string, ttlMs: number): Promise<HeldLock | undefined> {
  const token = randomUUID();
  const ok = await redis.set(key, token, 'PX', ttlMs, 'NX');
  if (ok !== 'OK') return undefined;
  return {
    async release() {
      await redis.eval(RELEASE, 1, key, token);
    },
  };
}

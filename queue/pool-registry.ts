/**
 * What every worker's pools look like, and the pool bounds the operator set, kept in Redis so
 * that any API process can show and change them (GET /v1/pools, PUT /v1/pools/{image}).
 *
 *   status   each worker SETs its status (pools.stats() plus id, parked total, cap) every second
 *            with EX POOL_STATUS_TTL_S, and ZADDs its id to POOL_WORKERS: a worker that dies
 *            vanishes within seconds, one that shuts down removes itself at once.
 *   bounds   HSET POOL_BOUNDS <reference> {min, max}, then PUBLISH CHANNEL_POOL_BOUNDS <reference>;
 *            workers read the hash at start and re-read one field on each message.
 */
import type { Redis } from 'ioredis';
import type { StoredPoolBounds, WorkerPoolStatus } from '../contract/pools.js';
import { CHANNEL_POOL_BOUNDS, POOL_BOUNDS, POOL_STATUS_TTL_S, POOL_WORKERS, poolWorkerStatusKey } from './redis-keys.js';

export class PoolRegistry {
  /** `redis` is shared, never closed here. */
  constructor(private readonly redis: Redis) {}

  async publishStatus(status: WorkerPoolStatus): Promise<void> {
    await this.redis
      .multi()
      .set(poolWorkerStatusKey(status.id), JSON.stringify(status), 'EX', POOL_STATUS_TTL_S)
      .zadd(POOL_WORKERS, status.updatedAt, status.id)
      .exec();
  }

  /** A worker that stops cleanly leaves the listing at once. */
  async removeStatus(workerId: string): Promise<void> {
    await this.redis.multi().del(poolWorkerStatusKey(workerId)).zrem(POOL_WORKERS, workerId).exec();
  }

  /** Every worker whose status has not expired, by id. Forgets ids whose status is long gone. */
  async listStatuses(now = Date.now()): Promise<WorkerPoolStatus[]> {
    const staleBefore = now - POOL_STATUS_TTL_S * 1000;
    await this.redis.zremrangebyscore(POOL_WORKERS, '-inf', `(${staleBefore}`);
    const ids = await this.redis.zrange(POOL_WORKERS, '0', '-1');
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map(poolWorkerStatusKey));
    return values
      .filter((v): v is string => v !== null)
      .map((v) => JSON.parse(v) as WorkerPoolStatus)
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  async setBounds(image: string, bounds: { min: number; max: number }, now = Date.now()): Promise<StoredPoolBounds> {
    const stored: StoredPoolBounds = { image, min: bounds.min, max: bounds.max, updatedAt: now };
    await this.redis.multi().hset(POOL_BOUNDS, image, JSON.stringify(stored)).publish(CHANNEL_POOL_BOUNDS, image).exec();
    return stored;
  }

  /** Forgets an image's bounds (a judge run's build image, once removed): workers hear of it and find none. */
  async clearBounds(image: string): Promise<void> {
    await this.redis.multi().hdel(POOL_BOUNDS, image).publish(CHANNEL_POOL_BOUNDS, image).exec();
  }

  async getBounds(image: string): Promise<StoredPoolBounds | undefined> {
    const v = await this.redis.hget(POOL_BOUNDS, image);
    return v === null ? undefined : (JSON.parse(v) as StoredPoolBounds);
  }

  async allBounds(): Promise<StoredPoolBounds[]> {
    const all = await this.redis.hgetall(POOL_BOUNDS);
    return Object.values(all)
      .map((v) => JSON.parse(v) as StoredPoolBounds)
      .sort((a, b) => a.image.localeCompare(b.image));
  }
}

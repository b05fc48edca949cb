/**
 * The disk usage of each worker's snapshot store (`GET /v1/system/df`, `warmbox system df`). The
 * API never reads a store; each worker measures its own (layer sizes are cached by the store, so
 * a measurement walks only what changed) and publishes it to Redis, where it expires if the
 * worker dies.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DiskUsage, WorkerStoreUsage } from '../contract/disk-usage.js';
import { STORE_USAGE_INTERVAL_MS, STORE_USAGE_TTL_S, STORE_USAGE_WORKERS, storeUsageKey } from './redis-keys.js';

/** Measures this worker's store (SnapshotStore.diskUsage). */
export type MeasureStore = () => Promise<DiskUsage>;

export class StoreUsagePublisher {
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly redis: Redis,
    private readonly workerId: string,
    private readonly measure: MeasureStore,
    private readonly log?: Logger,
  ) {
    this.timer = setInterval(() => void this.publish(), STORE_USAGE_INTERVAL_MS).unref();
  }

  static async start(opts: { redis: Redis; workerId: string; measure: MeasureStore; log?: Logger }): Promise<StoreUsagePublisher> {
    const publisher = new StoreUsagePublisher(opts.redis, opts.workerId, opts.measure, opts.log);
    await publisher.publish();
    return publisher;
  }

  /** Measures and publishes now (also after an image operation changed the store). */
  async publish(): Promise<void> {
    try {
      const usage: WorkerStoreUsage = { workerId: this.workerId, measuredAt: Date.now(), ...(await this.measure()) };
      await this.redis
        .multi()
        .set(storeUsageKey(this.workerId), JSON.stringify(usage), 'EX', STORE_USAGE_TTL_S)
        .zadd(STORE_USAGE_WORKERS, String(usage.measuredAt), this.workerId)
        .exec();
    } catch (err) {
      this.log?.warn({ err }, 'measuring the snapshot store disk usage failed');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.redis.multi().del(storeUsageKey(this.workerId)).zrem(STORE_USAGE_WORKERS, this.workerId).exec();
  }
}

/** Every live worker's store usage; workers whose entry expired are dropped from the index. */
export async function readStoreUsage(redis: Redis): Promise<WorkerStoreUsage[]> {
  const ids = await redis.zrange(STORE_USAGE_WORKERS, '0', '-1');
  if (ids.length === 0) return [];
  const values = await redis.mget(ids.map(storeUsageKey));
  const gone = ids.filter((_, i) => values[i] === null);
  if (gone.length) await redis.zrem(STORE_USAGE_WORKERS, ...gone);
  return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as WorkerStoreUsage);
}

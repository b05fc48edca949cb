/**
 * The pools' two channels, which every worker hears (worker/pool-coordinator.ts):
 *
 *   demand   CHANNEL_POOL_DEMAND, JSON `{ image, worker }`: "a job of this image was just taken",
 *            published by the worker that took it (at most once a second per image);
 *   bounds   CHANNEL_POOL_BOUNDS, a reference whose bounds PoolRegistry.setBounds just changed.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CHANNEL_POOL_BOUNDS, CHANNEL_POOL_DEMAND } from './redis-keys.js';

export interface PoolDemandMessage {
  image: string;
  worker: string;
}

export interface PoolEventHandlers {
  onDemand(message: PoolDemandMessage): Promise<void>;
  onBoundsChanged(reference: string): Promise<void>;
}

/** Tells every worker that `message.worker` just took a job of `message.image`. */
export async function publishPoolDemand(redis: Redis, message: PoolDemandMessage): Promise<void> {
  await redis.publish(CHANNEL_POOL_DEMAND, JSON.stringify(message));
}

/** One subscriber connection (a duplicate of `redis`) to both channels. */
export class PoolEvents {
  private constructor(private readonly subscriber: Redis) {}

  static async subscribe(redis: Redis, handlers: PoolEventHandlers, log: Logger): Promise<PoolEvents> {
    const events = new PoolEvents(redis.duplicate());
    const sub = events.subscriber;
    sub.on('error', (err: Error) => log.warn({ err }, 'pool coordinator: Redis subscriber connection error'));
    sub.on('message', (channel: string, message: string) => {
      const handled =
        channel === CHANNEL_POOL_DEMAND ? handlers.onDemand(JSON.parse(message) as PoolDemandMessage)
        : channel === CHANNEL_POOL_BOUNDS ? handlers.onBoundsChanged(message)
        : undefined;
      handled?.catch((err) => log.warn({ err, channel, message }, 'pool coordinator: handling a message failed'));
    });
    try {
      await sub.subscribe(CHANNEL_POOL_DEMAND, CHANNEL_POOL_BOUNDS);
    } catch (err) {
      events.close();
      throw err;
    }
    return events;
  }

  close(): void {
    this.subscriber.disconnect();
  }
}

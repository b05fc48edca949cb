/**
 * Removals reach every host (README "Workers on many hosts"): an image `remove` operation runs on
 * one worker, which untags the image in its store and deletes its row; every worker has a store of
 * its own, so the one that performed it tells the others on CHANNEL_IMAGE_REMOVED, and each untags
 * the reference in its own store unless the db has it again (worker/image-worker.ts). A worker
 * that was away when it was said finds the image gone from the db at its next start.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CHANNEL_IMAGE_REMOVED } from './redis-keys.js';

export interface ImageRemoved {
  reference: string;
  /** The manifest digest that was removed (for the log: a host's own copy may have another). */
  digest: string;
}

export async function publishImageRemoved(redis: Redis, removed: ImageRemoved): Promise<void> {
  await redis.publish(CHANNEL_IMAGE_REMOVED, JSON.stringify(removed));
}

/** One subscriber connection (a duplicate of `redis`) to CHANNEL_IMAGE_REMOVED. */
export class ImageRemovalListener {
  private constructor(private readonly subscriber: Redis) {}

  static async start(redis: Redis, onRemoved: (removed: ImageRemoved) => Promise<void>, log: Logger): Promise<ImageRemovalListener> {
    const listener = new ImageRemovalListener(redis.duplicate());
    const sub = listener.subscriber;
    sub.on('error', (err: Error) => log.warn({ err }, 'image removals: Redis subscriber connection error'));
    sub.on('message', (channel: string, message: string) => {
      if (channel !== CHANNEL_IMAGE_REMOVED) return;
      let removed: ImageRemoved;
      try {
        removed = JSON.parse(message) as ImageRemoved;
      } catch {
        return;
      }
      onRemoved(removed).catch((err) => log.warn({ err, image: removed.reference }, 'untagging an image removed on another host failed'));
    });
    try {
      await sub.subscribe(CHANNEL_IMAGE_REMOVED);
    } catch (err) {
      listener.close();
      throw err;
    }
    return listener;
  }

  close(): void {
    this.subscriber.disconnect();
  }
}

/**
 * The workers' side of the images queue (queue/image-queue.ts is the API's): the BullMQ consumer
 * that hands each operation to its performer (worker/image-worker.ts), and the one operation a
 * worker queues itself, a collection deferred while removed images' layers are still mounted.
 */
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import type { ImageOpData } from '../contract/image-op.js';
import { BULL_PREFIX, imageOpDedupId, QUEUE_IMAGES } from './redis-keys.js';

export interface ImageOpConsumerOptions {
  /** For BullMQ's own connections (a Worker blocks one). */
  connection: ConnectionOptions;
  concurrency: number;
  /** Performs one operation, `opId` being its id; the signal aborts when BullMQ cancels it. */
  perform(opId: string, data: ImageOpData, signal: AbortSignal | undefined): Promise<void>;
  onError(err: Error): void;
  /** After each operation that completed. */
  onCompleted?(): void;
}

export class ImageOpConsumer {
  readonly #worker: Worker<ImageOpData, void>;
  readonly #queue: Queue<ImageOpData>;

  constructor(opts: ImageOpConsumerOptions) {
    this.#queue = new Queue<ImageOpData>(QUEUE_IMAGES, { connection: opts.connection, prefix: BULL_PREFIX });
    this.#worker = new Worker<ImageOpData, void>(QUEUE_IMAGES, (job, _token, signal) => opts.perform(job.id ?? '', job.data, signal), {
      connection: opts.connection,
      prefix: BULL_PREFIX,
      concurrency: opts.concurrency,
      // Operations are idempotent: one whose worker died is taken again by another.
      maxStalledCount: 1,
    });
    this.#worker.on('error', opts.onError);
    this.#worker.on('completed', () => opts.onCompleted?.());
  }

  /** Queues a collection of the store `delayMs` from now, unless one is queued already. */
  async queueCollection(delayMs: number): Promise<void> {
    await this.#queue.add('gc', { kind: 'gc' }, {
      delay: delayMs,
      deduplication: { id: imageOpDedupId('gc', 'store') },
      removeOnComplete: true,
      removeOnFail: true,
    });
  }

  /** Stops taking operations, after those in progress have ended. */
  async close(): Promise<void> {
    await this.#worker.close();
    await this.#queue.close();
  }
}

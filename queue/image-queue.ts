/**
 * The API's side of the images queue: enqueues image operations for the workers, and follows them
 * through their Redis Streams (image-op-stream.ts) without touching the snapshot store.
 *
 * - enqueue(): one BullMQ job per operation, its id the operation id. Pulls, removals and builds of
 *   one reference are deduplicated by BullMQ while one is queued or running: a second request gets
 *   the first one's id (`joined`), so concurrent `docker run`s of one new image share one pull.
 * - waitForOutcome(): holds a request until the operation ends, on this process's ONE subscriber
 *   to CHANNEL_IMAGE_OP_ENDED (like finished-notifier.ts for jobs): a waiting request costs a
 *   timer, not a Redis connection. Every wake-up is followed by a read of the stream, which decides.
 * - events(): the operation's events from its start, followed live, for streaming responses; this
 *   one does hold a connection per reader (a blocking XREAD), as job events do.
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { BULL_PREFIX, CHANNEL_IMAGE_OP_ENDED, imageOpDedupId, imageOpStreamKey, QUEUE_IMAGES } from './redis-keys.js';
import { subjectOf, type ImageOpData, type ImageOpKind, type ImageOpOutcome } from '../contract/image-op.js';
import { closeRedis } from './redis-close.js';
import {
  appendImageOpEvent,
  IMAGE_OP_START,
  readImageOpEvents,
  readImageOpFirst,
  readImageOpOutcome,
  type ImageOpEntry,
} from './image-op-stream.js';

export interface ImageQueueOptions {
  /** For commands; the queue makes its subscriber (and each reader's connection) from it. */
  redis: Redis;
  /** How long a job's pull on first use may take before POST /v1/jobs answers 503. */
  pullTimeoutMs: number;
  /** Largest import archive accepted. */
  importMaxBytes: number;
  log?: Logger;
}

export interface ImageOpHandle {
  id: string;
  /** True when an equal operation was already queued or running, and this is its id. */
  joined: boolean;
}

export type ImageOpState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface ImageOpStatus {
  id: string;
  kind: ImageOpKind;
  subject: string;
  state: ImageOpState;
  /** Epoch ms when it was enqueued. */
  createdAt: number;
  outcome?: ImageOpOutcome;
}

/** events() stopped because nothing happened for idleTimeoutMs. */
export class ImageOpIdleTimeout extends Error {
  override name = 'ImageOpIdleTimeout';
}

/** Longest single blocking read; readers re-check the client and the idle deadline between reads. */
const BLOCK_SLICE_MS = 5_000;

export class ImageQueue {
  readonly pullTimeoutMs: number;
  readonly importMaxBytes: number;
  readonly #redis: Redis;
  readonly #queue: Queue<ImageOpData>;
  readonly #ended: OpEndSubscription;
  readonly #log: Logger | undefined;

  private constructor(opts: ImageQueueOptions, ended: OpEndSubscription) {
    this.pullTimeoutMs = opts.pullTimeoutMs;
    this.importMaxBytes = opts.importMaxBytes;
    this.#redis = opts.redis;
    this.#log = opts.log;
    this.#ended = ended;
    this.#queue = new Queue<ImageOpData>(QUEUE_IMAGES, {
      connection: opts.redis,
      prefix: BULL_PREFIX,
      // The stream holds the outcome; the job goes as soon as it ends, which also ends its deduplication.
      defaultJobOptions: { attempts: 1, removeOnComplete: true, removeOnFail: true },
    });
  }

  /** Subscribes this process to operation ends; close() undoes it. */
  static async start(opts: ImageQueueOptions): Promise<ImageQueue> {
    return new ImageQueue(opts, await OpEndSubscription.start(opts.redis, opts.log));
  }

  /**
   * Queues the operation, or joins an equal one in progress. The `queued` event is written before
   * the job exists, so it is always the stream's first entry and never follows the `end`.
   */
  async enqueue(data: ImageOpData): Promise<ImageOpHandle> {
    const id = randomUUID();
    const subject = subjectOf(data);
    await appendImageOpEvent(this.#redis, id, { type: 'queued', kind: data.kind, subject, at: Date.now() });
    const dedup = data.kind === 'pull' || data.kind === 'remove' || data.kind === 'build' ? imageOpDedupId(data.kind, subject) : undefined;
    let jobId: string | undefined;
    try {
      const job = await this.#queue.add(data.kind, data, { jobId: id, ...(dedup !== undefined && { deduplication: { id: dedup } }) });
      jobId = job.id;
    } finally {
      if (jobId !== id) await this.#redis.del(imageOpStreamKey(id)).catch(() => {});
    }
    if (jobId === undefined) throw new Error(`enqueueing ${data.kind} ${subject}: BullMQ gave no job id`);
    return { id: jobId, joined: jobId !== id };
  }

  /** The outcome once the operation ends; undefined when timeoutMs passes first or the signal aborts. */
  async waitForOutcome(id: string, timeoutMs: number, signal?: AbortSignal): Promise<ImageOpOutcome | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const wait = this.#ended.wait(id, Math.max(0, deadline - Date.now()), signal); // registered before the read
      const outcome = await readImageOpOutcome(this.#redis, id);
      if (outcome !== undefined) {
        wait.cancel();
        return outcome;
      }
      if (!(await wait.woken)) return readImageOpOutcome(this.#redis, id);
    }
  }

  /**
   * The operation's events from its first, then live until its `end` (which is yielded last).
   * Throws ImageOpIdleTimeout when nothing comes for idleTimeoutMs; returns when the signal aborts.
   */
  async *events(id: string, opts: { signal?: AbortSignal; idleTimeoutMs: number; from?: string }): AsyncGenerator<ImageOpEntry> {
    const conn = this.#redis.duplicate();
    conn.on('error', (err: Error) => this.#log?.warn({ err, opId: id }, 'image operation events: Redis connection error'));
    const disconnect = (): void => conn.disconnect();
    opts.signal?.addEventListener('abort', disconnect, { once: true });
    try {
      let from = opts.from ?? IMAGE_OP_START;
      let idleSince = Date.now();
      while (!opts.signal?.aborted) {
        const left = opts.idleTimeoutMs - (Date.now() - idleSince);
        if (left <= 0) throw new ImageOpIdleTimeout(`no progress from the image operation ${id} for ${opts.idleTimeoutMs} ms`);
        let entries: ImageOpEntry[];
        try {
          entries = await readImageOpEvents(conn, id, from, Math.min(left, BLOCK_SLICE_MS));
        } catch (err) {
          if (opts.signal?.aborted) return;
          throw err;
        }
        if (entries.length > 0) idleSince = Date.now();
        for (const entry of entries) {
          from = entry.id;
          yield entry;
          if (entry.type === 'end') return;
        }
      }
    } finally {
      opts.signal?.removeEventListener('abort', disconnect);
      conn.disconnect();
    }
  }

  /** What an operation is and how far it got; undefined for an unknown (or expired) id. */
  async status(id: string): Promise<ImageOpStatus | undefined> {
    const first = await readImageOpFirst(this.#redis, id);
    if (first?.type !== 'queued') return undefined;
    const outcome = await readImageOpOutcome(this.#redis, id);
    const length = await this.#redis.xlen(imageOpStreamKey(id));
    const state: ImageOpState = outcome ? (outcome.ok ? 'succeeded' : 'failed') : length > 1 ? 'running' : 'queued';
    return { id, kind: first.kind, subject: first.subject, state, createdAt: first.at, ...(outcome && { outcome }) };
  }

  async close(): Promise<void> {
    await this.#ended.close();
    await this.#queue.close();
  }
}

type Wake = (published: boolean) => void;

/**
 * This process's subscription to CHANNEL_IMAGE_OP_ENDED; waiters by operation id. After a
 * reconnect every waiter is woken to read its stream again: a publish may have been missed.
 */
class OpEndSubscription {
  readonly #waiters = new Map<string, Set<Wake>>();
  #subscribed = false;

  private constructor(private readonly subscriber: Redis) {}

  static async start(redis: Redis, log: Logger | undefined): Promise<OpEndSubscription> {
    const sub = new OpEndSubscription(redis.duplicate());
    await sub.#subscribe(log);
    return sub;
  }

  async #subscribe(log: Logger | undefined): Promise<void> {
    const sub = this.subscriber;
    sub.on('message', (channel: string, id: string) => {
      if (channel === CHANNEL_IMAGE_OP_ENDED) this.#wake(id, true);
    });
    sub.on('error', (err: Error) => log?.warn({ err }, 'image operations: Redis subscriber connection error'));
    sub.on('ready', () => {
      if (this.#subscribed) for (const id of [...this.#waiters.keys()]) this.#wake(id, true);
    });
    await sub.subscribe(CHANNEL_IMAGE_OP_ENDED);
    this.#subscribed = true;
  }

  /**
   * `woken`: true when `id` ended (or may have: read again), false on timeout, abort or cancel.
   * Registered at once, before this returns.
   */
  wait(id: string, timeoutMs: number, signal?: AbortSignal): { woken: Promise<boolean>; cancel: () => void } {
    if (signal?.aborted) return { woken: Promise.resolve(false), cancel: () => {} };
    let wake: Wake = () => {};
    const woken = new Promise<boolean>((resolve) => {
      wake = (published) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const set = this.#waiters.get(id);
        set?.delete(wake);
        if (set?.size === 0) this.#waiters.delete(id);
        resolve(published);
      };
      const onAbort = (): void => wake(false);
      const timer = setTimeout(() => wake(false), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      let set = this.#waiters.get(id);
      if (set === undefined) this.#waiters.set(id, (set = new Set()));
      set.add(wake);
    });
    return { woken, cancel: () => wake(false) };
  }

  #wake(id: string, published: boolean): void {
    for (const wake of [...(this.#waiters.get(id) ?? [])]) wake(published);
  }

  async close(): Promise<void> {
    for (const id of [...this.#waiters.keys()]) this.#wake(id, false);
    this.#subscribed = false;
    await closeRedis(this.subscriber);
  }
}

/**
 * Wakes requests that wait for a job to finish (`POST /v1/jobs?wait=true`). The worker publishes
 * on CHANNEL_FINISHED once the result is in the db; each API process holds ONE subscriber
 * connection, and every waiter in that process shares it (a Map id → callbacks): no polling, no
 * Redis connection per request.
 *
 * The message is the job id, and, when the worker that ran the job sends it, a notice with what
 * the job's row gained by finishing (its result, up to NOTICE_MAX_OUTPUT_CHARS of output): the
 * waiter answers from it without reading the result back from the db. A bare id (a cancel, a sweep,
 * a result too big for the channel) means "read the db now". The caller registers (wait) BEFORE
 * it enqueues the job, so the publish cannot come before the registration, and reads the db once
 * more after a wait that ends without a notice, because a message published while the subscriber
 * was reconnecting is lost.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { JobResult } from '../contract/job-payload.js';
import { CHANNEL_FINISHED } from './redis-keys.js';
import { closeRedis } from './redis-close.js';

/** What a job's row gained when it finished, as recorded in the db (db/jobs.ts). */
export interface FinishedNotice {
  id: string;
  digest: string | null;
  startedAt: number | null;
  finishedAt: number;
  result: JobResult;
}

/**
 * A result with more output than this (stdout + stderr, characters) is announced by id only: every
 * API process receives every message on the channel, so a big one costs them all.
 */
export const NOTICE_MAX_OUTPUT_CHARS = 64 * 1024;

/** How a wait ended: `published` (read the db, unless `notice` says it all), or not (timeout, abort). */
export interface Wakeup {
  published: boolean;
  notice?: FinishedNotice;
}

type Wake = (published: boolean, notice?: FinishedNotice) => void;

export class FinishedNotifier {
  private readonly waiters = new Map<string, Set<Wake>>();
  private subscribed = false;

  private constructor(private readonly subscriber: Redis) {}

  /** Opens this process's subscriber connection (a duplicate of `redis`) and subscribes. */
  static async start(redis: Redis, logger?: Logger): Promise<FinishedNotifier> {
    const notifier = new FinishedNotifier(redis.duplicate());
    await notifier.subscribe(logger);
    return notifier;
  }

  private async subscribe(logger: Logger | undefined): Promise<void> {
    const sub = this.subscriber;
    sub.on('message', (channel: string, message: string) => {
      if (channel !== CHANNEL_FINISHED) return;
      const newline = message.indexOf('\n');
      const id = newline < 0 ? message : message.slice(0, newline);
      // Parsed only when this process waits for the job: most messages are for other processes.
      if (this.waiters.has(id)) this.wake(id, true, newline < 0 ? undefined : noticeOf(id, message.slice(newline + 1), logger));
    });
    sub.on('error', (err: Error) => logger?.warn({ err }, 'finished-notifier: Redis subscriber connection error'));
    // ioredis re-subscribes after a reconnect; whatever was published meanwhile is lost, so every
    // waiter is woken to read the db again.
    sub.on('ready', () => {
      if (this.subscribed) this.wakeAll();
    });
    await sub.subscribe(CHANNEL_FINISHED);
    this.subscribed = true;
  }

  /**
   * Resolves true when `id` is published (or the subscription was re-established: read the db),
   * false on timeout or abort. Registration happens synchronously, before this returns.
   */
  async wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    return (await this.waitForNotice(id, timeoutMs, signal)).published;
  }

  /** wait(), with the finished job's notice when the message carried one. */
  waitForNotice(id: string, timeoutMs: number, signal?: AbortSignal): Promise<Wakeup> {
    if (signal?.aborted) return Promise.resolve({ published: false });
    return new Promise<Wakeup>((resolve) => {
      const wake: Wake = (published, notice) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.unregister(id, wake);
        resolve(notice === undefined ? { published } : { published, notice });
      };
      const onAbort = () => wake(false);
      const timer = setTimeout(() => wake(false), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.register(id, wake);
    });
  }

  /**
   * The shortest path: a worker in this same process announces a finished job directly, a Redis
   * round trip (~0.8 ms here) before its publish arrives. The publish still goes out for other processes.
   */
  announceLocal(id: string, notice?: FinishedNotice): void {
    this.wake(id, true, notice);
  }

  /** How many waits are pending (all ids). */
  get pending(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  /** Ends every pending wait with false and closes the subscriber connection. */
  async close(): Promise<void> {
    for (const set of [...this.waiters.values()]) for (const wake of [...set]) wake(false);
    this.subscribed = false;
    await closeRedis(this.subscriber);
  }

  private register(id: string, wake: Wake): void {
    let set = this.waiters.get(id);
    if (set === undefined) this.waiters.set(id, (set = new Set()));
    set.add(wake);
  }

  private unregister(id: string, wake: Wake): void {
    const set = this.waiters.get(id);
    if (set === undefined) return;
    set.delete(wake);
    if (set.size === 0) this.waiters.delete(id);
  }

  private wake(id: string, published: boolean, notice?: FinishedNotice): void {
    const set = this.waiters.get(id);
    if (set === undefined) return;
    for (const wake of [...set]) wake(published, notice);
  }

  private wakeAll(): void {
    for (const id of [...this.waiters.keys()]) this.wake(id, true);
  }
}

/** The worker's side: announce that `id`'s result is in the db (with the notice, waiters need not read it back). */
export async function publishFinished(redis: Redis, id: string, notice?: FinishedNotice): Promise<void> {
  await redis.publish(CHANNEL_FINISHED, finishedMessage(id, notice));
}

/** `id`, or `id\n{notice}` when there is a notice whose output fits NOTICE_MAX_OUTPUT_CHARS. */
export function finishedMessage(id: string, notice?: FinishedNotice): string {
  if (notice === undefined || notice.result.stdout.length + notice.result.stderr.length > NOTICE_MAX_OUTPUT_CHARS) return id;
  const { digest, startedAt, finishedAt, result } = notice;
  return `${id}\n${JSON.stringify({ digest, startedAt, finishedAt, result })}`;
}

/** A notice that does not parse is logged and treated as a bare id: the waiter reads the db. */
function noticeOf(id: string, body: string, logger: Logger | undefined): FinishedNotice | undefined {
  try {
    const n = JSON.parse(body) as Omit<FinishedNotice, 'id'>;
    if (typeof n.finishedAt !== 'number' || typeof n.result?.verdict !== 'string') throw new Error('not a finished-job notice');
    return { id, digest: n.digest ?? null, startedAt: n.startedAt ?? null, finishedAt: n.finishedAt, result: n.result };
  } catch (err) {
    logger?.warn({ err, job: id }, 'finished-notifier: unreadable notice; reading the db instead');
    return undefined;
  }
}

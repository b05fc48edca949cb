/**
 * One worker's part in keeping pools warm across workers (README "Pools and scheduling").
 *
 * All workers take jobs from ONE shared BullMQ queue: no job waits behind another image's backlog,
 * no image starves, and any worker may take any job. So any worker may need any image warm:
 *   1. when this worker takes a job of image X, it publishes "demand for X" (CHANNEL_POOL_DEMAND),
 *      at most once a second per image;
 *   2. every worker that hears it (this one too) keeps at least `demandFloor` sandboxes of X
 *      parked until it has heard no demand for X for `demandHoldMs`: whichever worker takes the
 *      next job of X finds a parked sandbox; each pool's own policy (runtime/pool-policy.ts)
 *      sizes it beyond that from the claims it sees;
 *   3. bounds set through the API (PoolRegistry) are applied at start and whenever they change;
 *   4. every second this worker publishes its pools' status, for GET /v1/pools.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { StoredImage } from '../contract/stored-image.js';
import type { PoolBounds, StoredPoolBounds, WorkerPoolStatus } from '../contract/pools.js';
import { DEFAULT_POLICY } from '../runtime/pool-policy.js';
import type { SandboxPools } from '../runtime/sandbox-pools.js';
import type { ImageResolver } from './image-resolver.js';
import { PoolRegistry } from '../queue/pool-registry.js';
import { PoolEvents, publishPoolDemand, type PoolDemandMessage } from '../queue/pool-events.js';

export interface PoolCoordinatorOptions {
  /** `hostname-pid`: unique among the workers on one Redis. */
  workerId: string;
  hostname: string;
  pid: number;
  concurrency: number;
  /** For commands; the coordinator makes its own subscriber connection from it. */
  redis: Redis;
  pools: SandboxPools;
  images: ImageResolver;
  maxParkedTotal: number;
  log: Logger;
  /** Parked sandboxes kept while other workers see demand. Default: the policy's burst allowance. */
  demandFloor?: number;
  /** How long one demand message holds the floor up. Default: the policy's idle time. */
  demandHoldMs?: number;
  /** Status publishing (and floor expiry) period. */
  intervalMs?: number;
  /** How many jobs this worker runs now, published with its status (`warmbox status`). */
  runningJobs?: () => number;
  /** What this worker runs on, published with its status. */
  versions?: WorkerPoolStatus['versions'];
}

/** The bounds a pool gets: its configured bounds, its minimum raised to the demand floor (within max). */
export function effectiveBounds(base: PoolBounds, floor: number): PoolBounds {
  return { min: Math.max(base.min, Math.min(floor, base.max)), max: base.max };
}

const BROADCAST_INTERVAL_MS = 1000;

export class PoolCoordinator {
  private readonly registry: PoolRegistry;
  /** Configured bounds per digest (API, pre-warm list or default), without any demand floor. */
  private readonly base = new Map<string, PoolBounds>();
  /** Until when (ms) a digest's demand floor holds. */
  private readonly floorUntil = new Map<string, number>();
  private readonly knownImages = new Map<string, StoredImage>();
  /** Bounds stored for references not (yet) in this worker's store; applied once they are. */
  private readonly pendingBounds = new Map<string, StoredPoolBounds>();
  private readonly lastBroadcast = new Map<string, number>();
  private events?: PoolEvents;
  private readonly startedAt = Date.now();
  private readonly floor: number;
  private readonly holdMs: number;
  private timer?: NodeJS.Timeout;
  private publishFailing = false;
  private closed = false;

  private constructor(private readonly opts: PoolCoordinatorOptions) {
    this.registry = new PoolRegistry(opts.redis);
    this.floor = opts.demandFloor ?? DEFAULT_POLICY.burst;
    this.holdMs = opts.demandHoldMs ?? DEFAULT_POLICY.idleMs;
  }

  /** Subscribes, applies the stored bounds, publishes a first status, then one every interval. */
  static async start(opts: PoolCoordinatorOptions): Promise<PoolCoordinator> {
    const c = new PoolCoordinator(opts);
    try {
      await c.subscribe();
      for (const stored of await c.registry.allBounds()) await c.applyStored(stored);
      await c.publishStatus();
    } catch (err) {
      await c.close();
      throw err;
    }
    c.timer = setInterval(() => void c.tick(), opts.intervalMs ?? 1000).unref();
    return c;
  }

  /** This worker just took a job of `reference` (BullMQ's `active`): tell every worker, ≤ once a second per image. */
  noteJobTaken(reference: string, now = Date.now()): void {
    if (now - (this.lastBroadcast.get(reference) ?? -Infinity) < BROADCAST_INTERVAL_MS) return;
    this.lastBroadcast.set(reference, now);
    const message: PoolDemandMessage = { image: reference, worker: this.opts.workerId };
    publishPoolDemand(this.opts.redis, message).catch((err) => this.opts.log.warn({ err, image: reference }, 'pool demand broadcast failed'));
  }

  status(now = Date.now()): WorkerPoolStatus {
    const { pools } = this.opts;
    return {
      id: this.opts.workerId,
      hostname: this.opts.hostname,
      pid: this.opts.pid,
      concurrency: this.opts.concurrency,
      startedAt: this.startedAt,
      updatedAt: now,
      parkedTotal: pools.parkedTotal(),
      maxParkedTotal: this.opts.maxParkedTotal,
      ...(this.opts.runningJobs && { runningJobs: this.opts.runningJobs() }),
      ...(this.opts.versions && { versions: this.opts.versions }),
      pools: pools.stats().map((s) => {
        const base = this.baseOf(s.digest);
        const floor = this.floorActive(s.digest, now) ? Math.min(this.floor, base.max) : 0;
        return { ...s, min: base.min, max: base.max, demandFloor: floor };
      }),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.events?.close();
    await this.registry.removeStatus(this.opts.workerId).catch((err) => this.opts.log.warn({ err }, 'removing this worker from the pool registry failed'));
  }

  private async subscribe(): Promise<void> {
    this.events = await PoolEvents.subscribe(
      this.opts.redis,
      { onDemand: (message) => this.onDemand(message), onBoundsChanged: (reference) => this.onBoundsChanged(reference) },
      this.opts.log,
    );
  }

  private async onDemand({ image: reference }: PoolDemandMessage): Promise<void> {
    const pending = this.pendingBounds.get(reference);
    if (pending) await this.applyStored(pending);
    const image = await this.opts.images.resolve(reference);
    if (!image || this.closed) return; // not in this worker's store: its first job of it pulls it
    const now = Date.now();
    const wasActive = this.floorActive(image.digest, now);
    this.floorUntil.set(image.digest, now + this.holdMs);
    if (!wasActive) this.apply(image, now);
  }

  private async onBoundsChanged(reference: string): Promise<void> {
    const stored = await this.registry.getBounds(reference);
    if (stored) await this.applyStored(stored);
  }

  private async applyStored(stored: StoredPoolBounds): Promise<void> {
    this.opts.images.forget(stored.image); // a re-pull may have moved the tag
    const image = await this.opts.images.resolve(stored.image);
    if (!image) {
      this.pendingBounds.set(stored.image, stored);
      return;
    }
    if (this.closed) return;
    this.pendingBounds.delete(stored.image);
    this.base.set(image.digest, { min: stored.min, max: stored.max });
    this.apply(image, Date.now());
  }

  private apply(image: StoredImage, now: number): void {
    const base = this.baseOf(image.digest);
    this.base.set(image.digest, base); // remembered before configure() overwrites the pools' own record
    this.knownImages.set(image.digest, image);
    this.opts.pools.configure(image, effectiveBounds(base, this.floorActive(image.digest, now) ? this.floor : 0));
  }

  private baseOf(digest: string): PoolBounds {
    return this.base.get(digest) ?? this.opts.pools.boundsOf(digest);
  }

  private floorActive(digest: string, now: number): boolean {
    return (this.floorUntil.get(digest) ?? -Infinity) > now;
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    for (const [digest, until] of this.floorUntil) {
      if (until > now) continue;
      this.floorUntil.delete(digest);
      const image = this.knownImages.get(digest);
      if (image) await this.applyIfStillStored(image);
    }
    await this.publishStatus(now);
  }

  /**
   * Back to the configured bounds when the floor lapses — unless the image was removed or re-tagged
   * meanwhile: its pool was drained on removal (worker/image-worker.ts) and must stay so.
   */
  private async applyIfStillStored(image: StoredImage): Promise<void> {
    const current = await this.opts.images.resolve(image.reference).catch(() => undefined);
    if (this.closed) return;
    if (current?.digest === image.digest) {
      this.apply(current, Date.now());
      return;
    }
    this.knownImages.delete(image.digest);
    this.base.delete(image.digest);
  }

  private async publishStatus(now = Date.now()): Promise<void> {
    if (this.closed) return;
    try {
      await this.registry.publishStatus(this.status(now));
      if (this.publishFailing) this.opts.log.info('pool status publishing works again');
      this.publishFailing = false;
    } catch (err) {
      if (!this.publishFailing) this.opts.log.warn({ err }, 'publishing pool status to Redis failed (GET /v1/pools will miss this worker)');
      this.publishFailing = true;
    }
  }
}

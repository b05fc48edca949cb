/**
 * The warm pools of one worker: one WarmPool per (image digest, disk size, network mode), a global cap on parked
 * sandboxes (each costs ~400 KiB of kernel memory, FACTS.md), and a tick that lets idle pools
 * shrink and configured ones fill. `acquire` is the only way a job gets a sandbox.
 */
import type { NetworkMode } from '../contract/network-mode.js';
import type { StoredImage } from '../contract/stored-image.js';
import type { PoolBounds, PoolStats } from '../contract/pools.js';
import type { PolicySettings } from './pool-policy.js';
import type { Sandbox } from './sandbox.js';
import type { SandboxRuntime } from './sandbox-runtime.js';
import { WarmPool } from './warm-pool.js';

export interface PoolsConfig {
  /** Bounds of a pool nobody configured; `max: 0` turns warm pools off. */
  defaultBounds: PoolBounds;
  /** Parked sandboxes of all pools together. */
  maxParkedTotal: number;
  /** The disk size pools are pre-warmed with (the default diskBytes limit). */
  defaultDiskBytes: number;
  policy?: PolicySettings;
  tickMs?: number;
  /**
   * Told of each sandbox made, with how long it took: `pool` for a parked one, `cold` for one made
   * for a job that found none (a worker's metrics count them; the runtime itself keeps none).
   */
  onCreated?: (image: StoredImage, ms: number, kind: 'pool' | 'cold') => void;
}

export interface Acquired {
  sandbox: Sandbox;
  start: 'warm' | 'cold';
}

export class SandboxPools {
  private readonly pools = new Map<string, WarmPool>();
  /** Bounds set per image digest (PUT /v1/pools/{image}, or the pre-warm list). */
  private readonly bounds = new Map<string, PoolBounds>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly runtime: SandboxRuntime,
    private readonly config: PoolsConfig,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    this.timer = setInterval(() => this.tick(), config.tickMs ?? 1000).unref();
  }

  async acquire(image: StoredImage, diskBytes: number, network: NetworkMode = 'none'): Promise<Acquired> {
    const pool = this.poolFor(image, diskBytes, network);
    let sandbox = pool.claim();
    while (sandbox && !sandbox.alive) sandbox = pool.claim();
    if (sandbox) return { sandbox, start: 'warm' };
    const t0 = performance.now();
    sandbox = await this.runtime.create(image, { diskBytes, network });
    const ms = performance.now() - t0;
    pool.recordCreation(ms);
    this.config.onCreated?.(image, ms, 'cold');
    return { sandbox, start: 'cold' };
  }

  /** Sets an image's pool bounds (every disk size) and fills or trims it now. */
  configure(image: StoredImage, bounds: PoolBounds): void {
    this.bounds.set(image.digest, bounds);
    this.poolFor(image, this.config.defaultDiskBytes, 'none');
    for (const pool of this.pools.values()) {
      if (pool.image.digest !== image.digest) continue;
      pool.bounds = bounds;
      pool.refill();
    }
  }

  boundsOf(digest: string): PoolBounds {
    return this.bounds.get(digest) ?? this.config.defaultBounds;
  }

  stats(): PoolStats[] {
    return [...this.pools.values()].map((p) => p.stats());
  }

  parkedTotal(): number {
    let n = 0;
    for (const p of this.pools.values()) n += p.size;
    return n;
  }

  /** Destroys every parked sandbox; leaves nothing behind. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.pools.values()].map((p) => p.close()));
    this.pools.clear();
  }

  /** Networked sandboxes pool apart (their veth is made with them: see README "Network"); their pool appears with their first job. */
  private poolFor(image: StoredImage, diskBytes: number, network: NetworkMode): WarmPool {
    const key = `${image.digest}:${diskBytes}:${network}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new WarmPool(image, diskBytes, network, this.boundsOf(image.digest), {
        create: (img, disk, net) => this.runtime.create(img, { diskBytes: disk, network: net }),
        mayPark: () => this.parkedTotal() < this.config.maxParkedTotal,
        onError: this.onError,
        created: (ms) => this.config.onCreated?.(image, ms, 'pool'),
      }, this.config.policy);
      this.pools.set(key, pool);
    }
    return pool;
  }

  private tick(): void {
    for (const pool of this.pools.values()) pool.refill();
  }
}

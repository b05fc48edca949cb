import type { NetworkMode } from './network-mode.js';
import type { ProcessVersions } from './versions.js';

/**
 * Warm pools as every floor speaks of them: the bounds an operator sets (PUT /v1/pools/{image},
 * WARMBOX_POOL_*), what one pool reports (runtime/warm-pool.ts), and what each worker publishes
 * for GET /v1/pools (queue/pool-registry.ts).
 */

/** The largest `max` a pool of one image may be given (WARMBOX_POOL_MAX, PUT /v1/pools/{image}). */
export const POOL_BOUNDS_MAX = 4096;

export interface PoolBounds {
  /** Kept parked even when idle (pre-warmed at start for configured images). */
  min: number;
  /** Never more than this parked for one image. */
  max: number;
}

export interface PoolStats {
  image: string;
  digest: string;
  diskBytes: number;
  /** Sandboxes of network `bridge` come from pools of their own (their veth is made with them). */
  network: NetworkMode;
  parked: number;
  creating: number;
  target: number;
  min: number;
  max: number;
  claims: number;
  warmClaims: number;
  coldStarts: number;
  created: number;
  createFailures: number;
  /** Claims per second (moving average). */
  claimRate: number;
  /** Sandboxes made per second over the pool's life. */
  refillRate: number;
}

export interface StoredPoolBounds {
  /** Normalized reference, e.g. docker.io/library/busybox:latest. */
  image: string;
  min: number;
  max: number;
  /** When it was set, ms since the epoch. */
  updatedAt: number;
}

/** One pool of one worker: the runtime's PoolStats, with the bounds the worker was configured with. */
export interface WorkerPoolStats extends PoolStats {
  /** Parked sandboxes this worker keeps at least, for now, because other workers saw demand for the image. */
  demandFloor: number;
}

export interface WorkerPoolStatus {
  id: string;
  hostname: string;
  pid: number;
  /** Jobs this worker runs at once. */
  concurrency: number;
  startedAt: number;
  updatedAt: number;
  /** Parked (and being made) sandboxes of all its pools together, and its cap on that. */
  parkedTotal: number;
  maxParkedTotal: number;
  pools: WorkerPoolStats[];
  /** Jobs it runs now (absent from workers older than this field). */
  runningJobs?: number;
  /** What it runs on, and its cgroup driver (absent from workers older than this field). */
  versions?: ProcessVersions & { cgroup: 'v1' | 'v2' };
}

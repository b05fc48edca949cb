/** Every Redis key and channel name warmbox uses, built in one place. */
export const QUEUE_JOBS = 'warmbox-jobs';
export const QUEUE_WEBHOOKS = 'warmbox-webhooks';
/** BullMQ key prefix (its default is `bull`). */
export const BULL_PREFIX = 'warmbox';

/** Pub/sub channel: the API publishes a job id here to have the worker running it stop it. */
export const CHANNEL_CANCEL = 'warmbox:jobs:cancel';

/** Pub/sub channel: the worker publishes a job id here once its result is in the db. */
export const CHANNEL_FINISHED = 'warmbox:jobs:finished';

/**
 * Lock held by the one process that reconciles the db with the jobs queue at a time
 * (queue/reconcile-lock.ts): a random token, set NX with a TTL, deleted by its holder only.
 */
export const RECONCILE_LOCK = 'warmbox:jobs:reconcile-lock';

/** Lock held by the one process that applies retention at a time (worker/retention-sweep.ts), as RECONCILE_LOCK. */
export const RETENTION_LOCK = 'warmbox:jobs:retention-lock';

/**
 * Redis Stream of one job's live output. Entries: `{ t: 'stdout' | 'stderr', d: <bytes> }`,
 * and a last `{ t: 'end' }` after the result is in the db. Expires OUTPUT_STREAM_TTL_S after the end.
 */
export function outputStreamKey(jobId: string): string {
  return `warmbox:job:${jobId}:output`;
}
export const OUTPUT_STREAM_TTL_S = 3600;

/**
 * Pools across workers (queue/pool-registry.ts). Each worker writes its pool status as JSON to
 * its own key, which expires unless rewritten (every second), and lists itself in the sorted set
 * POOL_WORKERS (score: last write, ms) so that readers need no SCAN.
 */
export const POOL_WORKERS = 'warmbox:pools:workers';
export function poolWorkerStatusKey(workerId: string): string {
  return `warmbox:pools:worker:${workerId}`;
}
export const POOL_STATUS_TTL_S = 5;
/** Hash: normalized image reference → JSON `{ min, max, updatedAt }`, set by PUT /v1/pools/{image}. */
export const POOL_BOUNDS = 'warmbox:pools:bounds';
/** Pub/sub channel: an image reference whose bounds in POOL_BOUNDS just changed. */
export const CHANNEL_POOL_BOUNDS = 'warmbox:pools:bounds-changed';
/** Pub/sub channel: JSON `{ image, worker }`, "a job of this image was just taken" (≤ 1/s per image per worker). */
export const CHANNEL_POOL_DEMAND = 'warmbox:pools:demand';

// Image operations (pull, import, remove, build).

/** BullMQ queue of image operations, consumed by every worker (queue/image-op-consumer.ts). */
export const QUEUE_IMAGES = 'warmbox-images';

/**
 * Redis Stream of one operation's events, written by the worker that performs it. Entries are
 * `{ t: <event type>, d: <JSON> }` (see contract/image-op.ts): `queued` first (written by the API),
 * then `status`, `progress` and `log`, and one last `end` with the outcome. Expires
 * IMAGE_OP_STREAM_TTL_S after the end (or after its first entry, if no end ever comes).
 */
export function imageOpStreamKey(opId: string): string {
  return `warmbox:image-op:${opId}:events`;
}
export const IMAGE_OP_STREAM_TTL_S = 3600;

/** Pub/sub channel: an operation id, published once the operation's `end` entry is written. */
export const CHANNEL_IMAGE_OP_ENDED = 'warmbox:image-ops:ended';
/**
 * JSON `{ reference, digest }`: an image was removed (its row deleted) by the worker that performed
 * the removal; every other worker untags it in its own store (queue/image-removals.ts).
 */
export const CHANNEL_IMAGE_REMOVED = 'warmbox:images:removed';

/**
 * BullMQ deduplication id of an operation on one reference: while such an operation is queued or
 * running, the same request joins it instead of adding another (imports are never deduplicated).
 */
export function imageOpDedupId(kind: 'pull' | 'remove' | 'build' | 'gc', subject: string): string {
  return `${kind}:${subject}`;
}

// Snapshot store disk usage, per worker (each host has its own store).

/** Sorted set of worker ids that published their store's disk usage (score: when, epoch ms). */
export const STORE_USAGE_WORKERS = 'warmbox:store-usage:workers';
/** One worker's store disk usage (JSON), refreshed every STORE_USAGE_INTERVAL_MS, expiring after STORE_USAGE_TTL_S. */
export function storeUsageKey(workerId: string): string {
  return `warmbox:store-usage:${workerId}`;
}
export const STORE_USAGE_INTERVAL_MS = 30_000;
export const STORE_USAGE_TTL_S = 90;

// Readiness (GET /readyz).

/** A key each API process writes when asked whether it is ready: proof that Redis takes writes. Expires after READINESS_PROBE_TTL_S. */
export function readinessProbeKey(processId: string): string {
  return `warmbox:readiness:${processId}`;
}
export const READINESS_PROBE_TTL_S = 60;

// Tenants' quotas (README "Quotas").

/**
 * Hash `{ tokens, at }`: a tenant's submission token bucket (queue/tenant-rate-limit.ts), `at`
 * the Redis clock in ms when `tokens` was last written. Expires once it would be full again.
 */
export function tenantRateKey(tenantId: string): string {
  return `warmbox:tenant:${tenantId}:rate`;
}

/**
 * Sorted set of a tenant's running slots (queue/running-slots.ts): member a job id, score the
 * epoch ms its lease ends. A worker renews its jobs' leases while they run; a dead worker's expire.
 */
export function tenantRunningKey(tenantId: string): string {
  return `warmbox:tenant:${tenantId}:running`;
}

/**
 * Hash of the API processes that said where their peers reach them (WARMBOX_ADVERTISE_URL): field
 * the URL, value the epoch ms of its last heartbeat (queue/api-peers.ts).
 */
export const API_PEERS_KEY = 'warmbox:api:peers';

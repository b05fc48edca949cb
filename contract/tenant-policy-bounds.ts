/**
 * The bounds of a tenant's policy (contract/tenant.ts): what PUT /v1/tenants/{id}/policy, `warmbox
 * tenants policy` and the local tenant's WARMBOX_TENANT_* variables accept, and the server-wide
 * retention default. Limit caps are bounded by contract/limits.ts (MIN_LIMITS..MAX_LIMITS).
 */

const DAY_S = 86_400;

export const TENANT_POLICY_BOUNDS = Object.freeze({
  /** Token refill rate, jobs per second (0.001 = one job every ~17 minutes). */
  ratePerSecond: { min: 0.001, max: 100_000 },
  /** Bucket size: the most jobs accepted at once after a quiet spell. */
  burst: { min: 1, max: 100_000 },
  /** Jobs of the tenant queued at once (0: the tenant may queue nothing: a suspended tenant). */
  maxQueuedJobs: { min: 0, max: 10_000_000 },
  /** Jobs of the tenant running at once, across all workers. */
  maxRunningJobs: { min: 1, max: 100_000 },
  /**
   * How long finished jobs are kept. At least a day: an Idempotency-Key is answered for 24 hours
   * (api/idempotency.ts), so a retried submission never finds its job already pruned.
   */
  retentionSeconds: { min: DAY_S, max: 10 * 365 * DAY_S },
  /** Patterns in the image allow-list, and the length of each. */
  images: { maxPatterns: 256, maxPatternChars: 512 },
});

/** What a tenant whose policy leaves `retentionSeconds` null gets (WARMBOX_RETENTION): 30 days. */
export const RETENTION_DEFAULT_SECONDS = 30 * DAY_S;

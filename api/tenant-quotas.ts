/**
 * A tenant's quotas on submissions (README "Quotas"): the queued-jobs cap, read from the db, and the
 * rate limit, a token bucket in Redis. Both refuse a whole batch or none of it, with 429.
 */
import type { Tenant } from '../contract/tenant.js';
import { countQueuedJobs } from '../db/tenant-usage.js';
import { takeTokens } from '../queue/tenant-rate-limit.js';
import { ENQUEUE_TIMEOUT_MS } from '../queue/job-queue.js';
import type { AppDeps } from './deps.js';
import { ApiError, RETRY_LATER } from './errors.js';

/** 429 when `n` more jobs would put the tenant above its cap on queued jobs. `deps.db` may be the transaction that then inserts them. */
export async function checkQueuedCap(deps: Pick<AppDeps, 'db'>, tenant: Tenant, n: number): Promise<void> {
  const cap = tenant.policy.maxQueuedJobs;
  if (cap === null) return;
  const queued = await countQueuedJobs(deps.db, tenant.id);
  if (queued + n <= cap) return;
  throw new ApiError(429, 'too_many_queued', `this tenant has ${queued} jobs queued; its cap is ${cap}${n > 1 ? ` (the batch adds ${n})` : ''}: retry once some have started`, { queued, cap }, RETRY_LATER);
}

/**
 * Takes `n` tokens from the tenant's bucket, or refuses: 429 with Retry-After (whole seconds,
 * rounded up: after that wait the same request is taken, unless others took the tokens first);
 * 422 for a batch larger than the bucket, which no wait would let through; 503 when Redis does
 * not answer.
 */
export async function takeSubmissionTokens(deps: Pick<AppDeps, 'redis'>, tenant: Tenant, n: number): Promise<void> {
  const rate = tenant.policy.rate;
  if (rate === null) return;
  if (n > rate.burst) {
    throw new ApiError(422, 'batch_above_burst', `a batch of ${n} jobs is larger than this tenant's rate limit burst ${rate.burst}: send at most ${rate.burst} at once`, { field: 'jobs', burst: rate.burst, maximum: rate.burst });
  }
  let outcome;
  try {
    outcome = await takeTokens(deps.redis, tenant.id, rate, n, ENQUEUE_TIMEOUT_MS);
  } catch (err) {
    throw new ApiError(503, 'queue_unavailable', 'the rate limit could not be checked (Redis is unavailable): nothing was queued; retry later', {}, RETRY_LATER, err);
  }
  if (outcome.taken) return;
  const seconds = Math.max(1, Math.ceil(outcome.retryAfterMs / 1000));
  throw new ApiError(429, 'rate_limited', `this tenant's rate limit (${rate.perSecond}/s, burst ${rate.burst}) is used up: retry in ${seconds} s`, { retryAfterMs: outcome.retryAfterMs }, { 'Retry-After': String(seconds) });
}

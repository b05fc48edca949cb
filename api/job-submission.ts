/**
 * Accepting validated job requests, one (POST /v1/jobs), many (POST /v1/jobs/batch) or a trigger's
 * (POST /v1/hooks/{id}), as one checklist: replay an idempotent retry → refuse when overloaded → the tenant's policy on
 * each request (limit caps, network, image allow-list; nothing read yet) → webhook targets → the
 * tenant's queued cap (a db count) → its rate limit (tokens taken in Redis) → pull images on first
 * use → the queued cap again, then record every job (and the key) in one transaction → enqueue
 * them all in one Redis round trip → mark the key acknowledged. The cheaper a refusal, the earlier:
 * a refused request records nothing, and only one that passed every check takes tokens or pulls.
 * Nothing is acknowledged before both the db and Redis hold it; a failed enqueue takes the
 * recorded jobs back (and frees the key), so no job is left `queued` with nothing to run it.
 */
import { epochMs } from '../contract/epoch-ms.js';
import { LOCAL_TENANT_ID, type Tenant } from '../contract/tenant.js';
import type { InteractorPayload, JobPayload } from '../contract/job-payload.js';
import { claimIdempotencyKey, completeIdempotencyKey, forgetIdempotencyKey } from '../db/idempotency.js';
import { createJobs, DbConflict, deleteJobs, getJob } from '../db/jobs.js';
import type { JobRow } from '../db/schema.js';
import { checkBlobReferences } from './blob-references.js';
import type { AppDeps } from './deps.js';
import { ApiError, RETRY_LATER } from './errors.js';
import { keyNotBefore, pruneExpiredKeys, replayedJobIds } from './idempotency.js';
import { imageInDb } from './image-lookup.js';
import { checkWebhookTarget } from './webhook-target-check.js';
import { ensureImage, normalizeOr400, type EnsuredImage } from './image-pull-on-use.js';
import { localTenant } from './middleware/tenant.js';
import { cappedLimits, checkJobAgainstPolicy } from './tenant-policy-checks.js';
import { checkQueuedCap, takeSubmissionTokens } from './tenant-quotas.js';
import { newJobId } from './job-id.js';
import { toJobPayload } from './job-payload-from-request.js';
import type { JobRequest } from './schemas/job-request.js';

export interface SubmitOptions {
  /** Whose jobs these are, and the policy they are held to; default the local tenant (contract/tenant.ts). */
  tenant?: Tenant;
  /** A judge's build: each job's output is kept as a layer (JobPayload.captureLayer). */
  captureLayer?: boolean;
  /** A judge's interactive test: each job is the solution side of a pair with this interactor (JobPayload.interactor). */
  interactor?: InteractorPayload;
  /** warmbox's own submission of a judge run's job, which may name warmbox's internal images (contract/internal-images.ts). */
  buildImage?: boolean;
  /** The jobs' ids, when the caller chose them (a judge run's: one per step, so a resumed run finds its jobs); default new ones. */
  ids?: string[];
  /** The Idempotency-Key and the hash of the request it came with. */
  idempotency?: { key: string; hash: string };
  /** The client's request: a pull on first use stops waiting when it goes. */
  signal?: AbortSignal;
  /** Where a job's errors point: `jobs[3].image` in a batch. */
  fieldPrefix?: (index: number) => string;
  /** Called once the jobs are recorded, before they are enqueued (a `?wait` registers here). */
  beforeEnqueue?: (rows: JobRow[]) => void;
  /** Called when the enqueue failed and the jobs were taken back. */
  onEnqueueFailed?: () => void;
}

export interface Submission {
  rows: JobRow[];
  /** True when an earlier request with the same Idempotency-Key recorded these jobs. */
  replayed: boolean;
}

export async function submitJobs(deps: AppDeps, requests: JobRequest[], opts: SubmitOptions = {}): Promise<Submission> {
  const tenant = opts.tenant ?? localTenant(deps.config.localTenantPolicy);
  const tenantId = tenant.id;
  const idempotency = opts.idempotency && { ...opts.idempotency, key: tenantIdempotencyKey(tenantId, opts.idempotency.key) };
  if (idempotency !== undefined) {
    pruneExpiredKeys(deps.db);
    const replay = await replayed(deps, idempotency, opts.signal);
    if (replay !== undefined) return replay;
  }
  await deps.overload?.admit(requests.length);
  checkPolicy(tenant, requests, opts);
  checkWebhookTargets(deps, requests, opts);
  checkQueuedCap(deps, tenant, requests.length);
  await takeSubmissionTokens(deps, tenant, requests.length);
  const images = await ensureImages(deps, requests, opts);
  const createdAt = epochMs();
  const payloads = requests.map((request, i) => payloadOf(request, images[i]!, createdAt, tenant, opts.ids?.[i]));
  if (opts.captureLayer) for (const p of payloads) p.captureLayer = true;
  if (opts.interactor) for (const p of payloads) p.interactor = opts.interactor;
  let rows: JobRow[];
  // No await between this check and the insert: a blob cannot be collected in between.
  checkBlobReferences(deps.db, tenantId, payloads, opts.fieldPrefix);
  try {
    // Again, with no await before the insert: concurrent requests of this process cannot both pass.
    checkQueuedCap(deps, tenant, requests.length);
    const claim = idempotency && { key: idempotency.key, requestHash: idempotency.hash, jobIds: payloads.map((p) => p.id), createdAt: Math.floor(createdAt) };
    rows = createJobs(deps.db, payloads.map((p, i) => newJob(p, requests[i]!)), claim && ((tx) => claimIdempotencyKey(tx, claim, keyNotBefore())));
  } catch (err) {
    if (!(err instanceof DbConflict) || idempotency === undefined) throw err;
    // A concurrent request with the same key recorded first: answer with its jobs.
    const replay = await replayed(deps, idempotency, opts.signal);
    if (replay !== undefined) return replay;
    throw new ApiError(409, 'idempotency_key_in_use', `a request with Idempotency-Key ${JSON.stringify(opts.idempotency?.key)} was being processed; retry`, {}, RETRY_LATER);
  }
  opts.beforeEnqueue?.(rows);
  await enqueue(deps, payloads, opts);
  if (idempotency !== undefined) completeIdempotencyKey(deps.db, idempotency.key, Date.now());
  return { rows, replayed: false };
}

/**
 * Each tenant has its own Idempotency-Keys: the same key from two tenants is two keys. A client's
 * key has no space in it (idempotencyHeaderSchema), so `<tenant> <key>` cannot meet another's; the
 * local tenant's keys stay as they were recorded before tenants existed.
 */
export function tenantIdempotencyKey(tenantId: string, key: string): string {
  return tenantId === LOCAL_TENANT_ID ? key : `${tenantId} ${key}`;
}

/** The key as the client sent it, for messages. */
function clientKey(stored: string): string {
  return stored.slice(stored.indexOf(' ') + 1);
}

async function replayed(deps: AppDeps, idempotency: { key: string; hash: string }, signal?: AbortSignal): Promise<Submission | undefined> {
  const ids = await replayedJobIds(deps.db, idempotency.key, idempotency.hash, signal, clientKey(idempotency.key));
  if (ids === undefined) return undefined;
  const rows = ids.map((id) => getJob(deps.db, id)).filter((row): row is JobRow => row !== undefined);
  return { rows, replayed: true };
}

/** Each job against the tenant's policy, on its normalized image reference (403/422 before anything is read or pulled). */
function checkPolicy(tenant: Tenant, requests: JobRequest[], opts: SubmitOptions): void {
  for (const [i, request] of requests.entries()) {
    try {
      checkJobAgainstPolicy(tenant.policy, request, normalizeOr400(request.image), opts.buildImage === true);
    } catch (err) {
      throw opts.fieldPrefix && err instanceof ApiError ? atIndex(err, i, opts.fieldPrefix(i)) : err;
    }
  }
}

/** A webhook URL whose literal address is refused: 422 before anything is pulled or recorded. */
function checkWebhookTargets(deps: AppDeps, requests: JobRequest[], opts: SubmitOptions): void {
  for (const [i, request] of requests.entries()) {
    try {
      checkWebhookTarget(request.webhook?.url, deps.config.webhookTargets);
    } catch (err) {
      throw opts.fieldPrefix && err instanceof ApiError ? atIndex(err, i, opts.fieldPrefix(i)) : err;
    }
  }
}

/** Each distinct image once (pulled on first use); an error names the job it came from. */
async function ensureImages(deps: AppDeps, requests: JobRequest[], opts: SubmitOptions): Promise<EnsuredImage[]> {
  const imageExists = deps.imageExists ?? imageInDb(deps);
  const byName = new Map<string, Promise<EnsuredImage>>();
  const results: EnsuredImage[] = [];
  for (const [i, request] of requests.entries()) {
    let ensured = byName.get(request.image);
    if (ensured === undefined) {
      byName.set(request.image, (ensured = ensureImage(deps, request.image, opts.signal, imageExists)));
      ensured.catch(() => undefined); // awaited below, in order; one that fails after an earlier error is not
    }
    try {
      results.push(await ensured);
    } catch (err) {
      throw opts.fieldPrefix && err instanceof ApiError ? atIndex(err, i, opts.fieldPrefix(i)) : err;
    }
  }
  // Only the first job of an image waited for its pull.
  const seen = new Set<string>();
  return results.map((r) => (seen.has(r.reference) ? { ...r, pullMs: 0 } : (seen.add(r.reference), r)));
}

/** The same error, about the job at `index` of a batch. */
export function atIndex(err: ApiError, index: number, prefix: string): ApiError {
  const field = typeof err.details.field === 'string' && err.details.field !== '' ? `${prefix}.${err.details.field}` : prefix;
  return new ApiError(err.status, err.code, `${prefix}: ${err.message}`, { ...err.details, field, index }, err.headers);
}

function payloadOf(request: JobRequest, image: EnsuredImage, createdAt: number, tenant: Tenant, id = newJobId()): JobPayload {
  const payload = toJobPayload(request, id, image.reference, createdAt);
  payload.tenantId = tenant.id;
  payload.limits = cappedLimits(payload.limits, request.limits, tenant.policy.limitCaps);
  if (image.pullMs > 0) payload.pullMs = image.pullMs;
  return payload;
}

function newJob(payload: JobPayload, request: JobRequest) {
  return {
    id: payload.id,
    tenantId: payload.tenantId,
    image: payload.image,
    request: payload,
    labels: request.labels ?? {},
    webhookUrl: request.webhook?.url,
    createdAt: Math.floor(payload.createdAt),
  };
}

/** Jobs that could not be queued never run: their rows (and the key) go, and the client gets a 503 to retry. */
async function enqueue(deps: AppDeps, payloads: JobPayload[], opts: SubmitOptions): Promise<void> {
  try {
    await (payloads.length === 1 ? deps.queue.add(payloads[0]!) : deps.queue.addBulk(payloads));
  } catch (err) {
    opts.onEnqueueFailed?.();
    const ids = payloads.map((p) => p.id);
    deleteJobs(deps.db, ids, opts.idempotency && ((tx) => forgetIdempotencyKey(tx, opts.idempotency!.key)));
    // Logged once, as the refusal (middleware/job-refusal-log.ts), with this cause.
    throw new ApiError(503, 'queue_unavailable', 'the job queue is unavailable: nothing was queued; retry later', {}, RETRY_LATER, err);
  }
}

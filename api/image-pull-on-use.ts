/**
 * Pull on first use, as `docker run` does: a job naming an image that is not in the db makes the
 * API enqueue a pull (or join one in progress) and hold the request until it ends, bounded by the
 * pull timeout. Only the socket is held: the wait is a timer on the process's one subscription.
 */
import { InvalidReferenceError, normalizeReference } from '../contract/image-reference.js';
import type { AppDeps } from './deps.js';
import { ApiError } from './errors.js';
import { imageOpApiError, pullTimeoutError } from './image-errors.js';
import { imageInDb, type ImageExists } from './image-lookup.js';

export interface EnsuredImage {
  /** Normalized reference. */
  reference: string;
  /** How long this request waited for the pull; 0 when the image was there. */
  pullMs: number;
}

/**
 * The normalized reference, once the image is in the db: 400 for a malformed reference; without
 * deps.images, 404 as before; else the pull's error (image-errors.ts), or 503 when it outlasts
 * the pull timeout.
 */
export async function ensureImage(deps: AppDeps, requested: string, signal?: AbortSignal, imageExists: ImageExists = deps.imageExists ?? imageInDb(deps)): Promise<EnsuredImage> {
  const reference = normalizeOr400(requested);
  if (await imageExists(reference)) return { reference, pullMs: 0 };
  const images = deps.images;
  if (images === undefined) {
    throw new ApiError(404, 'image_not_found', `image ${JSON.stringify(requested)} not found (${reference}); pull it first`, { image: reference });
  }
  const t0 = performance.now();
  let opId: string;
  try {
    opId = (await images.enqueue({ kind: 'pull', reference })).id;
  } catch (err) {
    // Logged once, as the job's refusal (middleware/job-refusal-log.ts), with this cause.
    throw new ApiError(503, 'queue_unavailable', 'the image queue is unavailable; retry later', {}, {}, err);
  }
  const outcome = await images.waitForOutcome(opId, images.pullTimeoutMs, signal);
  if (outcome === undefined) throw pullTimeoutError(requested, reference, images.pullTimeoutMs);
  if (!outcome.ok) throw imageOpApiError('pull', outcome.error, requested, reference);
  return { reference, pullMs: performance.now() - t0 };
}

export function normalizeOr400(requested: string, field = 'image'): string {
  try {
    return normalizeReference(requested);
  } catch (err) {
    if (err instanceof InvalidReferenceError) throw new ApiError(400, 'invalid_request', `${field}: ${err.message}`, { field });
    throw err;
  }
}

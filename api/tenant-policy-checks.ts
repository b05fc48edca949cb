/**
 * What a tenant's policy (contract/tenant.ts) allows a job to ask for, checked on the request
 * alone, before anything is pulled, counted or recorded: limits within the tenant's caps (422),
 * networking only if allowed (403), images on its allow-list (403, on the normalized reference).
 * A limit the request leaves out gets the smaller of the default and the cap.
 */
import { INTERNAL_IMAGE_PREFIX, isInternalImage } from '../contract/internal-images.js';
import { imageAllowed } from '../contract/image-allow-list.js';
import { LIMIT_NAMES, type Limits } from '../contract/limits.js';
import type { TenantPolicy } from '../contract/tenant.js';
import { ApiError } from './errors.js';
import type { JobRequest } from './schemas/job-request.js';

/** Throws the first refusal; `reference` is the request's image normalized. */
/** `internal`: warmbox's own submission (a judge run's test), which may run warmbox's own images. */
export function checkJobAgainstPolicy(policy: TenantPolicy, request: JobRequest, reference: string, internal = false): void {
  checkLimitCaps(policy.limitCaps, request.limits ?? {});
  checkNetwork(policy, request.network);
  if (isInternalImage(reference)) {
    if (!internal) throw new ApiError(403, 'image_not_allowed', `image ${reference}: images under ${INTERNAL_IMAGE_PREFIX} are warmbox's own`, { field: 'image', image: reference });
    return;
  }
  checkImage(policy, reference);
}

function checkLimitCaps(caps: Partial<Limits>, asked: Partial<Limits>): void {
  for (const name of LIMIT_NAMES) {
    const cap = caps[name];
    const value = asked[name];
    if (cap === undefined || value === undefined || value <= cap) continue;
    const field = `limits.${name}`;
    throw new ApiError(422, 'tenant_limit_exceeded', `${field} ${value} is above this tenant's cap ${cap}`, { field, cap, maximum: cap });
  }
}

// Today a job's network is always 'none'; a mode that turns networking on is refused unless allowed.
function checkNetwork(policy: TenantPolicy, network: string): void {
  if (network === 'none' || policy.network) return;
  throw new ApiError(403, 'network_not_allowed', `network ${JSON.stringify(network)}: this tenant's jobs may not have networking (only "none")`, { field: 'network' });
}

function checkImage(policy: TenantPolicy, reference: string): void {
  if (imageAllowed(reference, policy.images)) return;
  throw new ApiError(403, 'image_not_allowed', `image ${reference} is not on this tenant's list of allowed images`, { field: 'image', image: reference });
}

/** The limits a job runs with: the request's, and for each one left out the default, lowered to the tenant's cap. */
export function cappedLimits(limits: Limits, asked: Partial<Limits> | undefined, caps: Partial<Limits>): Limits {
  const out = { ...limits };
  for (const name of LIMIT_NAMES) {
    const cap = caps[name];
    if (cap !== undefined && asked?.[name] === undefined && out[name] > cap) out[name] = cap;
  }
  return out;
}

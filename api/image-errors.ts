/**
 * How a failed image operation answers over HTTP: the one mapping from the worker's error codes
 * (images/registry/image-pull-error.ts, images/store/image-import-error.ts, the store's, the
 * worker's own) to a status and an API error code.
 *
 *   pull:   not_found, unauthorized → 404 image_not_found ("pull access denied" for the latter);
 *           registry_unreachable → 503; rate_limited → 503; registry_error, digest_mismatch → 502;
 *           an image warmbox cannot run (schema 1, no such platform, zstd on an old Node, unsafe
 *           or broken layers, more than MAX_IMAGE_LAYERS layers, a config no sandbox can use) → 422;
 *           a bad reference → 400; a misconfigured registry → 500
 *   import: anything wrong with the archive or its content → 422 (the client sent it)
 *   any:    an image that unpacks past the server's bounds → 422 image_too_large, naming the bound
 *           (422, not 413: what is too large is the image, not the request; a pull has no body)
 *   remove: image_not_found → 404, image_in_use → 409
 *   any:    cancelled (the worker stopped) → 503, internal_error → 500
 *
 * Messages come from the worker without paths of its host (worker/host-paths.ts, applied where the
 * worker turns an error into the operation's outcome); a config field at fault is in `field`.
 */
import { parseReference } from '../contract/image-reference.js';
import type { ImageOpError, ImageOpKind } from '../contract/image-op.js';
import { ApiError } from './errors.js';

/** The unpack bounds (server/image-config.ts), by the store's error code. */
const UNPACK_BOUNDS: Record<string, string> = {
  unpacked_size_limit: 'WARMBOX_IMAGE_MAX_UNPACKED_BYTES',
  entry_count_limit: 'WARMBOX_IMAGE_MAX_ENTRIES',
};

const UNRUNNABLE = new Set(['manifest_unsupported', 'invalid_manifest', 'platform_not_found', 'unsupported_layer', 'invalid_layer', 'unsafe_layer', 'invalid_config', 'incomplete_image', 'too_many_layers']);

/**
 * `requested` is what the client wrote (for messages), `reference` its normalized form. The message
 * says what was asked and, after a colon, the registry's or the store's own words.
 */
export function imageOpApiError(kind: ImageOpKind, error: ImageOpError, requested: string, reference: string): ApiError {
  const details = { image: reference, reason: error.code, ...(error.field !== undefined && { field: error.field }) };
  const what = `image ${JSON.stringify(requested)}`;
  const bound = UNPACK_BOUNDS[error.code];
  if (bound !== undefined) return new ApiError(422, 'image_too_large', `${what} is too large for this server (${bound}): ${error.message}`, { ...details, bound });
  switch (error.code) {
    case 'invalid_reference':
      return new ApiError(400, 'invalid_request', error.message, { field: 'reference' });
    case 'image_not_found':
      return new ApiError(404, 'image_not_found', `${what} not found: ${error.message}`, details);
    case 'image_in_use':
      return new ApiError(409, 'image_in_use', error.message, details);
    case 'cancelled':
      return new ApiError(503, 'operation_cancelled', error.message, details);
    case 'internal_error':
      return new ApiError(500, 'internal_error', `${kind} of ${reference} failed inside warmbox: ${error.message}`, details);
  }
  if (kind === 'import') return new ApiError(422, error.code, error.message, details);
  switch (error.code) {
    case 'unauthorized':
      return new ApiError(404, 'image_not_found', `${what} not found: pull access denied for ${repositoryOf(reference)}, repository does not exist or may require credentials (WARMBOX_REGISTRY_AUTH_FILE): ${error.message}`, details);
    case 'not_found':
      return new ApiError(404, 'image_not_found', `${what} not found: ${error.message}`, details);
    case 'registry_unreachable':
      return new ApiError(503, 'registry_unreachable', `${what} is not in the store, and its registry cannot be reached to pull it: ${error.message}`, details);
    case 'rate_limited':
      return new ApiError(503, 'registry_rate_limited', `${what} is not in the store, and its registry refuses more pulls for now: ${error.message}`, details);
    case 'registry_error':
    case 'digest_mismatch':
      return new ApiError(502, 'registry_error', `${what}: the registry's answer cannot be used: ${error.message}`, details);
    case 'invalid_options':
      return new ApiError(500, 'registry_misconfigured', `${what}: the server's registry configuration is wrong: ${error.message}`, details);
  }
  if (UNRUNNABLE.has(error.code)) return new ApiError(422, 'image_unsupported', `${what} cannot be run by warmbox: ${error.message}`, details);
  return new ApiError(500, 'internal_error', `${kind} of ${reference} failed: ${error.message}`, details);
}

/** 503 for a pull on first use that is still going when the wait ends; it goes on in the background. */
export function pullTimeoutError(requested: string, reference: string, timeoutMs: number): ApiError {
  return new ApiError(503, 'pull_timeout', `image ${JSON.stringify(requested)} is still being pulled after ${timeoutMs} ms; retry later (the pull goes on)`, {
    image: reference,
  });
}

function repositoryOf(reference: string): string {
  try {
    const ref = parseReference(reference);
    return `${ref.registry}/${ref.repository}`;
  } catch {
    return reference;
  }
}

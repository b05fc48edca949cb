/**
 * The one error type of a registry pull. `code` says what went wrong in a way callers can map to a
 * status (api/image-errors.ts: not_found and unauthorized → 404, an image warmbox cannot run → 422,
 * digest_mismatch and registry_* → 502, registry_unreachable → 503).
 * A pull that its AbortSignal cancels rejects with the signal's reason instead, as fetch does.
 */
export type ImagePullErrorCode =
  | 'not_found'            // the registry has no such repository, tag, digest or blob
  | 'unauthorized'         // the registry (or its token service) refused: no credentials, or wrong ones
  | 'rate_limited'         // 429 Too Many Requests (Docker Hub's anonymous pull limit)
  | 'registry_unreachable' // connection refused/reset, DNS, TLS, timeout: no answer from any endpoint
  | 'registry_error'       // an answer that makes no sense: 5xx, an unexpected status, a broken token reply
  | 'manifest_unsupported' // schema 1, an artifact that is no image, an unknown media type, a non-sha256 digest
  | 'invalid_manifest'     // a manifest, index or config that does not parse
  | 'invalid_config'       // an image config no sandbox can use (field names which: config.WorkingDir)
  | 'digest_mismatch'      // content that does not hash to the digest (or size) it was announced with
  | 'platform_not_found'   // an index without a manifest for the wanted os/architecture
  | 'unsupported_layer'    // a layer compression warmbox cannot read
  | 'invalid_layer'        // a layer that is not a readable tar
  | 'unsafe_layer'         // a layer entry that would land outside the layer ('..', absolute, via symlink)
  | 'too_many_layers'      // more layers than a sandbox stacks (MAX_IMAGE_LAYERS), refused before any download
  | 'unpacked_size_limit'  // the image unpacks to more bytes than the store's bound
  | 'entry_count_limit'    // the image's layers hold more entries than the store's bound
  | 'invalid_options';     // RegistryOptions that cannot work (a bad mirror URL, an unreadable credentials file)

export class ImagePullError extends Error {
  constructor(
    readonly code: ImagePullErrorCode,
    message: string,
    options?: { cause?: unknown; reference?: string; status?: number; field?: string },
  ) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'ImagePullError';
    if (options?.reference !== undefined) this.reference = options.reference;
    if (options?.status !== undefined) this.status = options.status;
    if (options?.field !== undefined) this.field = options.field;
  }

  /** The reference being pulled, when known. */
  reference?: string;
  /** The registry's HTTP status, when the error is an answer. */
  status?: number;
  /** The document field at fault, when there is one: 'config.WorkingDir'. */
  field?: string;
}

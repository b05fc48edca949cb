/**
 * The one error type of the snapshot store. `code` says what went wrong in a way callers can map
 * (e.g. the API turns 'invalid_reference' into 400 and 'digest_mismatch' from a pull into 502).
 */
export type ImageStoreErrorCode =
  | 'invalid_digest'      // not 'sha256:<64 lowercase hex>'
  | 'digest_mismatch'     // content does not hash to the digest it was announced with
  | 'blob_not_found'      // a manifest, config or layer blob is not in blobs/
  | 'unsafe_layer'        // a layer entry would land outside the layer: absolute, '..', through a symlink
  | 'invalid_layer'       // a layer is not a readable tar (corrupt, truncated, unknown entry type)
  | 'unsupported_layer'   // a compression this Node cannot read (zstd before Node 22.15)
  | 'invalid_manifest'    // not an OCI/Docker image manifest, or malformed
  | 'invalid_config'      // not an OCI image config, or malformed; or a config no sandbox can use (field names which)
  | 'unpacked_size_limit' // the image's layers unpack to more bytes than its bound (store/unpack-budget.ts)
  | 'entry_count_limit'   // the image's layers hold more entries than its bound
  | 'incomplete_image'    // a layer of the image was never unpacked (addLayer first)
  | 'too_many_layers'     // more layers than a sandbox stacks (MAX_IMAGE_LAYERS)
  | 'reference_mismatch'; // a digest reference tagged with a different digest

export class ImageStoreError extends Error {
  /** The document field at fault, when there is one: 'config.WorkingDir'. */
  readonly field?: string;

  constructor(readonly code: ImageStoreErrorCode, message: string, options?: { cause?: unknown; field?: string }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'ImageStoreError';
    if (options?.field !== undefined) this.field = options.field;
  }
}

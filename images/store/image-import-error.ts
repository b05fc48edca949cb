/**
 * The error type of image archive imports (image-import.ts) for what is wrong with the archive
 * itself. What is wrong with its content (a blob that does not verify, a hostile layer) comes as the
 * store's ImageStoreError, with the same codes a pull uses.
 */
export type ImageImportErrorCode =
  | 'invalid_archive'      // neither a `docker save` tar nor an OCI layout; a malformed manifest.json / index.json
  | 'unsafe_archive'       // an archive entry or a path in its manifests that leaves the archive ('..', absolute)
  | 'missing_blob'         // a file the archive's manifests name is not in it
  | 'reference_required'   // an image the archive does not name fully: pass opts.reference
  | 'platform_not_found';  // an index without a manifest for this platform

export class ImageImportError extends Error {
  constructor(readonly code: ImageImportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageImportError';
  }
}

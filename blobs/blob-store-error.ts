/** Why a blob could not be stored: the upload was larger than allowed, or its bytes are not what it claimed. */
export type BlobStoreFailure = 'too_large' | 'digest_mismatch';

export class BlobStoreError extends Error {
  override name = 'BlobStoreError';
  constructor(
    readonly failure: BlobStoreFailure,
    message: string,
    /** For too_large: the bound in bytes. For digest_mismatch: the digest the bytes really have. */
    readonly detail: { maximum?: number; actual?: string } = {},
  ) {
    super(message);
  }
}

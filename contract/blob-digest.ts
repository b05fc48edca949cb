/**
 * A blob's name: `sha256:` and the 64 lower-case hex digits of the SHA-256 of its bytes, as OCI
 * digests are written. The same bytes have the same name whoever uploads them.
 */
export const BLOB_DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

export function isBlobDigest(text: string): boolean {
  return BLOB_DIGEST_PATTERN.test(text);
}

/** The hex part of a digest (the file name in a store). */
export function digestHex(digest: string): string {
  if (!isBlobDigest(digest)) throw new Error(`not a blob digest: ${JSON.stringify(digest)}`);
  return digest.slice('sha256:'.length);
}

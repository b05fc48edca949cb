/** Content digests: the store's only algorithm is sha256, written 'sha256:<64 lowercase hex>'. */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ImageStoreError } from '../image-store-error.js';

const SHA256_DIGEST_RE = /^sha256:([a-f0-9]{64})$/;

/** The hex part of a sha256 digest; throws 'invalid_digest' for anything else. */
export function sha256Hex(digest: string): string {
  const m = SHA256_DIGEST_RE.exec(digest);
  if (!m?.[1]) {
    throw new ImageStoreError('invalid_digest', `digest ${JSON.stringify(digest)} is not sha256:<64 lowercase hex>`);
  }
  return m[1];
}

export function isSha256Digest(digest: string): boolean {
  return SHA256_DIGEST_RE.test(digest);
}

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A pass-through stream that hashes and counts what flows through it. */
export class DigestingStream extends Transform {
  readonly #hash: Hash = createHash('sha256');
  #size = 0;
  #digest: string | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
    callback(null, chunk);
  }

  /** Valid once the stream has ended. */
  get digest(): string {
    this.#digest ??= `sha256:${this.#hash.digest('hex')}`;
    return this.#digest;
  }

  get size(): number {
    return this.#size;
  }
}

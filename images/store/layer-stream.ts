/**
 * Opens a layer blob as the stream of its uncompressed tar. Compression is recognized by its magic
 * bytes (as containerd does), not by the media type, so that a mislabeled layer still unpacks and its
 * diff_id is always the sha256 of the bytes the unpacker reads.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform as NodeTransform, type Readable, type Transform } from 'node:stream';
import { Decompress as ZstdDecompress } from 'fzstd';
import * as zlib from 'node:zlib';
import { ImageStoreError } from '../image-store-error.js';

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

export type LayerCompression = 'none' | 'gzip' | 'zstd';

/** The read stream and, when compressed, the decompressor: to be piped in this order. */
export async function openLayerTar(blobPath: string): Promise<[Readable, ...Transform[]]> {
  const compression = await detectCompression(blobPath);
  const source = createReadStream(blobPath);
  switch (compression) {
    case 'none':
      return [source];
    case 'gzip':
      return [source, zlib.createGunzip()];
    case 'zstd': {
      // Node has zstd from 22.15 / 23.8 on (typed loosely to compile against older types); before, fzstd.
      const createZstd = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;
      return [source, createZstd ? createZstd() : zstdDecompressor()];
    }
  }
}

/** fzstd's streaming decompressor (pure JavaScript) as a Node Transform. */
function zstdDecompressor(): Transform {
  const transform: Transform = new NodeTransform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        decompress.push(chunk);
        done();
      } catch (err) {
        done(new ImageStoreError('invalid_layer', `zstd layer: ${(err as Error).message}`));
      }
    },
    flush(done) {
      try {
        decompress.push(new Uint8Array(0), true);
        done();
      } catch (err) {
        done(new ImageStoreError('invalid_layer', `zstd layer: ${(err as Error).message}`));
      }
    },
  });
  const decompress = new ZstdDecompress((data) => transform.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength)));
  return transform;
}

export async function detectCompression(blobPath: string): Promise<LayerCompression> {
  const fh = await open(blobPath, 'r');
  try {
    const head = Buffer.alloc(ZSTD_MAGIC.length);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return compressionOf(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

export function compressionOf(head: Buffer): LayerCompression {
  if (head.subarray(0, GZIP_MAGIC.length).equals(GZIP_MAGIC)) return 'gzip';
  if (head.subarray(0, ZSTD_MAGIC.length).equals(ZSTD_MAGIC)) return 'zstd';
  return 'none';
}

/** True when the bytes start like a gzip or zstd stream (a tar header never does in practice). */
export function isCompressed(head: Buffer): boolean {
  return compressionOf(head) !== 'none';
}

/**
 * Disk usage of a snapshot store: measured by the store (images/image-gc.ts), published by each
 * worker (queue/store-usage.ts), answered by GET /v1/system/df and `warmbox system df`.
 */

export interface ImageDiskUsage {
  reference: string;
  /** Manifest digest. */
  digest: string;
  /** Bytes of its layers uncompressed: its size as `warmbox images` shows it (StoredImage.unpackedBytes). */
  unpackedBytes: number;
  /** On-disk bytes of its blobs (as stored, compressed) and its unpacked layers. */
  diskBytes: number;
  /** The part of diskBytes no other image (other manifest digest) shares: what removing it frees. */
  uniqueBytes: number;
}

export interface DiskUsage {
  /** Bytes of every blob and unpacked layer in the store, referenced or not (tmp/ excluded). */
  total: number;
  images: ImageDiskUsage[];
}

/** One worker's store, as it published it. */
export interface WorkerStoreUsage extends DiskUsage {
  workerId: string;
  /** When it was measured, epoch ms. */
  measuredAt: number;
}

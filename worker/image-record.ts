/**
 * A stored image as the db's `images` table records it: reference, digest, runtime config, its
 * layers (from the manifest and config blobs, with each one's unpacked size) and platform, its sizes
 * (unpacked in size_bytes; compressed blobs in the config column), and creation time; and where a
 * worker that lacks it gets it (contract/image-source.ts: the config column's `source`).
 */
import { findImage, upsertImage, type ImageLayerRecord, type ImageRecordConfig } from '../db/images.js';
import { imageSourceOf, type ImageSource } from '../contract/image-source.js';
import type { WarmboxDb } from '../db/client.js';
import type { NewImageRow } from '../db/schema.js';
import type { SnapshotStore, StoredImage } from '../images/image-store.js';
import { parseImageConfig, parseManifest } from '../images/store/oci-image.js';

export async function imageRowOf(store: SnapshotStore, image: StoredImage): Promise<NewImageRow> {
  const manifest = parseManifest(await store.readBlob(image.digest), image.digest);
  const oci = parseImageConfig(await store.readBlob(manifest.config.digest), manifest.config.digest);
  const layers: ImageLayerRecord[] = [];
  for (const [i, l] of manifest.layers.entries()) {
    const diffId = oci.rootfs.diff_ids[i] ?? '';
    const unpackedSize = (await store.layerStats(l.digest, diffId)).tarBytes;
    layers.push({ digest: l.digest, diffId, size: l.size, unpackedSize, mediaType: l.mediaType });
  }
  const config: ImageRecordConfig = { ...image.config, layers, compressedBytes: image.compressedBytes };
  if (oci.os !== undefined) config.os = oci.os;
  if (oci.architecture !== undefined) config.architecture = oci.architecture;
  return {
    reference: image.reference,
    digest: image.digest,
    config: { ...config },
    sizeBytes: image.unpackedBytes,
    createdAt: Date.parse(image.createdAt) || Date.now(),
  };
}

/**
 * Upserts the image's row; returns its reference. `source`: where other hosts get it; null for a
 * registry image (pulled by its reference); 'keep' leaves the row's as it is (a worker that stored
 * an image the db knew already: at its start, or obtaining it for a job).
 */
export async function recordImage(db: WarmboxDb, store: SnapshotStore, image: StoredImage, source: ImageSource | null | 'keep' = 'keep'): Promise<string> {
  const row = await imageRowOf(store, image);
  const kept = source === 'keep' ? imageSourceOf((await findImage(db, image.reference))?.config) : (source ?? undefined);
  if (kept !== undefined) row.config = { ...(row.config as object), source: kept };
  await upsertImage(db, row);
  return image.reference;
}

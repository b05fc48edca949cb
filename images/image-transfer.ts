/**
 * An image of this store sent to another host's store as its blobs, by digest: what a worker that
 * made an image (a judge build's layer, a recipe build) hands on, and what a worker that lacks it
 * admits. The sender names the manifest and the blobs its base does not already have (the config
 * and its own layers); the receiver stores each blob verified against its digest, unpacks each
 * layer through the same admission and safe unpacker as a pull (verified against the config's
 * diff_id), checks the image is runnable and writes the ref last, with collection held off meanwhile.
 * How the bytes travel is the caller's (fetch); this module knows no HTTP.
 */
import type { Readable } from 'node:stream';
import { ImageStoreError } from './image-store-error.js';
import type { SnapshotStore, StoredImage } from './image-store.js';
import { parseImageConfig, parseManifest } from './store/oci-image.js';

export interface ImageBlobs {
  manifest: string;
  /** The config and the layers the image adds to `base` (all of its layers when there is none). */
  blobs: string[];
}

/** The blobs of `image` that `base` (an image it is stacked on) does not have. */
export async function imageBlobsOf(store: SnapshotStore, image: StoredImage, base?: StoredImage): Promise<ImageBlobs> {
  const manifest = parseManifest(await store.readBlob(image.digest), image.digest);
  const baseLayers = new Set(base === undefined ? [] : parseManifest(await store.readBlob(base.digest), base.digest).layers.map((l) => l.digest));
  const layers = manifest.layers.map((l) => l.digest).filter((d) => !baseLayers.has(d));
  return { manifest: image.digest, blobs: [manifest.config.digest, ...layers] };
}

/** Where the receiver gets a blob's bytes: a stream that it verifies against the digest. */
export type FetchBlob = (digest: string) => Promise<Readable>;

/**
 * Stores the image named by `manifest` under `reference`, fetching what the store lacks. A layer
 * the store lacks and the sender did not name (a base that differs on this host) fails with
 * ImageStoreError blob_not_found.
 */
export async function admitImageBlobs(store: SnapshotStore, reference: string, manifestDigest: string, fetch: FetchBlob): Promise<StoredImage> {
  return store.withGarbageCollectionPaused(async () => {
    const stored = async (digest: string): Promise<void> => {
      if (!(await store.hasBlob(digest))) await store.putBlob(await fetch(digest), digest);
    };
    await stored(manifestDigest);
    const manifest = parseManifest(await store.readBlob(manifestDigest), manifestDigest);
    await stored(manifest.config.digest);
    const config = parseImageConfig(await store.readBlob(manifest.config.digest), manifest.config.digest);
    const budget = store.unpackBudget(reference);
    for (const [i, layer] of manifest.layers.entries()) {
      await stored(layer.digest);
      await store.addLayer(layer.digest, config.rootfs.diff_ids[i], budget);
    }
    await store.checkRunnable(manifestDigest);
    await store.tagImage(reference, manifestDigest);
    const image = await store.resolve(reference);
    if (!image) throw new ImageStoreError('blob_not_found', `${reference} was stored but does not resolve`);
    return image;
  });
}

/**
 * A job's image that the db has and this worker's store lacks (each host has its own store; the
 * image was pulled, imported or made by a worker elsewhere): got here before the job runs, by the
 * source its row names (contract/image-source.ts):
 *
 * - none (a registry image): pulled here, by its reference;
 * - an imported archive: fetched from the API by digest (worker/blob-access.ts) and imported
 *   again, as the first import did it;
 * - an image a worker made (a judge build's layer, a recipe build): its base obtained first, then
 *   the blobs it adds fetched by digest and admitted like a pulled image's (images/image-transfer.ts).
 *
 * Concurrent jobs of one image share one obtaining.
 */
import { imageSourceOf, type ImageSource } from '../contract/image-source.js';
import type { WarmboxDb } from '../db/client.js';
import { findImage } from '../db/images.js';
import { importImageArchive } from '../images/image-import.js';
import type { SnapshotStore, StoredImage } from '../images/image-store.js';
import { admitImageBlobs } from '../images/image-transfer.js';
import type { BlobAccess } from './blob-access.js';

export interface ImageObtainerDeps {
  store: SnapshotStore;
  db: WarmboxDb;
  blobs: BlobAccess;
  /** A registry pull into this store, recorded (ImageWorker.pullLocal). */
  pull(reference: string): Promise<StoredImage>;
  /** Records an image this obtained (its row's source kept) and lets the pools and the resolver know. */
  admitted(image: StoredImage): Promise<void>;
}

export class ImageObtainer {
  readonly #inFlight = new Map<string, Promise<StoredImage>>();

  constructor(private readonly deps: ImageObtainerDeps) {}

  /** The image in this store: as it is, or got from where its row says. */
  obtain(reference: string): Promise<StoredImage> {
    let obtaining = this.#inFlight.get(reference);
    if (obtaining === undefined) {
      obtaining = this.#obtain(reference).finally(() => this.#inFlight.delete(reference));
      this.#inFlight.set(reference, obtaining);
    }
    return obtaining;
  }

  async #obtain(reference: string): Promise<StoredImage> {
    const here = await this.deps.store.resolve(reference);
    if (here) return here;
    const source = imageSourceOf((await findImage(this.deps.db, reference))?.config);
    if (source === undefined) return this.deps.pull(reference);
    const image = await this.#fromSource(reference, source);
    await this.deps.admitted(image);
    return image;
  }

  async #fromSource(reference: string, source: ImageSource): Promise<StoredImage> {
    const { store, blobs } = this.deps;
    if (source.kind === 'archive') {
      const archive = await blobs.ensure(source.archive);
      const images = await importImageArchive(store, archive, source.reference !== undefined ? { reference: source.reference } : {});
      for (const other of images.filter((i) => i.reference !== reference)) await this.deps.admitted(other);
      const image = images.find((i) => i.reference === reference) ?? (await store.resolve(reference));
      if (!image) throw new Error(`the archive ${source.archive} imported again holds no image ${reference}`);
      return image;
    }
    if (source.base !== undefined) await this.obtain(source.base);
    return admitImageBlobs(store, reference, source.manifest, (digest) => blobs.open(digest));
  }
}

/**
 * An image that other images are built on, made once and then reused: resolved by its reference, or
 * built when the store has none — once, however many builds ask for it at the same time in this
 * process (two worker processes sharing one data directory may each build one; images built on either
 * stay whole, since each keeps its own layers).
 */
import type { SnapshotStore, StoredImage } from '../image-store.js';

const building = new WeakMap<SnapshotStore, Map<string, Promise<EnsuredImage>>>();

export interface EnsuredImage {
  image: StoredImage;
  /** Whether this call (or one it joined) built it, rather than finding it stored. */
  built: boolean;
}

/** The image `reference` names; when the store has none, `build()` must store and tag it. */
export async function ensureImage(store: SnapshotStore, reference: string, build: () => Promise<void>): Promise<EnsuredImage> {
  const found = await store.resolve(reference);
  if (found) return { image: found, built: false };
  let inProgress = building.get(store);
  if (!inProgress) building.set(store, (inProgress = new Map()));
  let job = inProgress.get(reference);
  if (!job) {
    job = (async () => {
      // A build that ended between our look-up and now has stored it.
      const stored = await store.resolve(reference);
      if (stored) return { image: stored, built: false };
      await build();
      const image = await store.resolve(reference);
      if (!image) throw new Error(`${reference} was built but does not resolve`);
      return { image, built: true };
    })().finally(() => inProgress.delete(reference));
    inProgress.set(reference, job);
  }
  return job;
}

/**
 * Resolves a job's image reference to a stored image on the hot path. The store reads a ref file
 * and a manifest per lookup (~1–2 ms through libuv's thread pool under load); a ref seen in the
 * last TTL_MS is answered from memory. A re-tag by another process shows within TTL_MS.
 */
import type { SnapshotStore, StoredImage } from '../images/image-store.js';

const TTL_MS = 1000;

export class ImageResolver {
  private readonly cache = new Map<string, { image: StoredImage; at: number }>();

  constructor(private readonly store: SnapshotStore) {}

  async resolve(reference: string): Promise<StoredImage | undefined> {
    const now = Date.now();
    const hit = this.cache.get(reference);
    if (hit && now - hit.at < TTL_MS) return hit.image;
    const image = await this.store.resolve(reference);
    if (image) this.cache.set(reference, { image, at: now });
    else this.cache.delete(reference);
    return image;
  }

  /** Forgets a reference this process just re-tagged or removed. */
  forget(reference: string): void {
    this.cache.delete(reference);
  }
}

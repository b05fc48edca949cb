/**
 * The `image` label of warmbox's metrics, bounded: each metric's series multiply by the images
 * they name, so only the first IMAGE_LABEL_CAP normalized references this process sees keep
 * their name; later ones are counted together under `other` (README "Observability").
 */

export const IMAGE_LABEL_CAP = 32;
export const OTHER_IMAGES = 'other';

export class ImageLabels {
  readonly #named = new Set<string>();

  constructor(private readonly cap = IMAGE_LABEL_CAP) {}

  /** The label of a normalized reference (`docker.io/library/busybox:latest`). */
  of(reference: string): string {
    if (this.#named.has(reference)) return reference;
    if (this.#named.size >= this.cap) return OTHER_IMAGES;
    this.#named.add(reference);
    return reference;
  }
}

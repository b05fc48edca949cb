/**
 * Where a worker that lacks an image gets it (README "Workers on many hosts"): each host has its
 * own snapshot store, and the db's `images` table says which images exist. An image's row carries
 * its source in its config column (`source`); a row without one is a registry image, pulled by
 * its reference where the job runs. The blobs a source names are kept in the API's blob store
 * (`<WARMBOX_DATA>/blobs` of the API's host) while an image names them, and a worker fetches them
 * by digest over HTTP (`/internal/v1/blobs/{digest}`), verifying each.
 */
import { isBlobDigest } from './blob-digest.js';

export type ImageSource =
  /** An imported archive (a `docker save` or OCI layout tar): imported again, `reference` as the first import had it. */
  | { kind: 'archive'; archive: string; reference?: string }
  /**
   * An image a worker made (a judge build's layer, a recipe build): its manifest, and the blobs it
   * adds to its base (its config, its own layers); `base`, when there is one, is obtained first.
   */
  | { kind: 'blobs'; manifest: string; blobs: string[]; base?: string };

/** The source in a row's config column, or undefined (a registry image, or a malformed value). */
export function imageSourceOf(config: unknown): ImageSource | undefined {
  const s = (config as { source?: unknown } | null)?.source as Record<string, unknown> | undefined;
  if (typeof s !== 'object' || s === null) return undefined;
  if (s.kind === 'archive' && typeof s.archive === 'string' && isBlobDigest(s.archive)) {
    return { kind: 'archive', archive: s.archive, ...(typeof s.reference === 'string' && { reference: s.reference }) };
  }
  if (s.kind === 'blobs' && typeof s.manifest === 'string' && isBlobDigest(s.manifest) && Array.isArray(s.blobs) && s.blobs.every((b) => typeof b === 'string' && isBlobDigest(b))) {
    return { kind: 'blobs', manifest: s.manifest, blobs: s.blobs as string[], ...(typeof s.base === 'string' && { base: s.base }) };
  }
  return undefined;
}

/** The blob digests a source keeps alive in the API's blob store. */
export function blobsOfSource(source: ImageSource): string[] {
  return source.kind === 'archive' ? [source.archive] : [source.manifest, ...source.blobs];
}

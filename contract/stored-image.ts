/**
 * An image as the snapshot store holds it (images/image-store.ts makes them) and as a sandbox is
 * built from it (runtime/sandbox-runtime.ts): what the two rooms share, so neither imports the other.
 */
import type { WorkingDir } from './working-dir.js';

/** What a sandbox needs from the image config's `config` object; missing fields are [] or ''. */
export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir: string;
  user: string;
}

export interface StoredImage {
  /** The normalized reference it was resolved by: 'docker.io/library/busybox:latest'. */
  reference: string;
  /** Manifest digest, 'sha256:…'. */
  digest: string;
  config: ImageConfig;
  /** Absolute paths of the unpacked layers, BOTTOM-most first (overlayfs wants them reversed). */
  layerDirs: string[];
  /** Bytes of its blobs as stored (config plus layers, compressed as given): what a pull transfers. */
  compressedBytes: number;
  /** Bytes of its layers uncompressed (their tars, all layers): the size `docker images` shows. */
  unpackedBytes: number;
  /** Its WorkingDir resolved through its layers (no symlink left in it), or why no job can start there. */
  workdir: WorkingDir;
  /** The image config's `created`, or '' when it has none. */
  createdAt: string;
}

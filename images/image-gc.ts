/**
 * What the snapshot store's content costs on disk, and garbage collection of what no ref names.
 * SnapshotStore.collectGarbage and .diskUsage are the entry points; this module does the work on the
 * store's layout, given the refs.
 *
 * Live content is the closure of the refs: each ref's manifest blob, its config and layer blobs, and
 * the unpacked layer of every diff_id in the config (plus, for a digest ref that pins an image index,
 * the index blob). Layer directories that sandboxes still mount are kept as well, whatever the refs
 * say: a running or parked sandbox has them as overlayfs lower dirs, and removing files under a live
 * overlay mount would pull the floor from under it. Everything else in blobs/, layers/ and diffids/
 * goes. tmp/ is never touched: staging belongs to writers (init() clears what dead ones left).
 *
 * Sizes: a blob counts its file size; an unpacked layer counts the blocks its inodes occupy (each
 * hard-linked inode once), as `du` would.
 */
import { lstat, readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { DiskUsage, ImageDiskUsage } from '../contract/disk-usage.js';
import { ImageStoreError } from './image-store-error.js';
import { isSha256Digest, sha256Hex } from './store/digest.js';
import { parseLayerIndex } from './store/layer-index.js';
import { parseImageConfig, parseManifest } from './store/oci-image.js';
import type { StoreLayout } from './store/store-layout.js';

export interface GarbageCollectionOptions {
  /**
   * Absolute paths of layer directories under running or parked sandboxes (their StoredImage's
   * layerDirs): kept even when no ref names them any more.
   */
  keepLayerDirs?: Set<string>;
  /**
   * Keep blobs and layers that entered the store less than this long ago (by their ctime, which the
   * rename into place sets). Only needed when another process adds to the same store while this one
   * collects; within a process, collection waits for pulls and imports in progress. Default 0.
   */
  minAgeMs?: number;
}

export interface GarbageCollectionResult {
  removedBlobs: number;
  removedLayers: number;
  freedBytes: number;
}

/** A ref as the store lists it. */
export interface RefEntry {
  reference: string;
  manifestDigest: string;
  /** For a digest ref: the digest it pins (an index's, when the image was chosen from one). */
  pinnedDigest?: string;
}

/** An image's content: blob digests and diff_ids. */
interface ImageContent {
  blobs: string[];
  diffIds: string[];
}

/** Caches what never changes: the bytes of an unpacked layer (layers are immutable). */
export class LayerSizes {
  readonly #bytes = new Map<string, Promise<number>>();

  of(dir: string): Promise<number> {
    let bytes = this.#bytes.get(dir);
    if (!bytes) {
      bytes = directoryBytes(dir);
      bytes.catch(() => this.#bytes.delete(dir));
      this.#bytes.set(dir, bytes);
    }
    return bytes;
  }

  forget(dir: string): void {
    this.#bytes.delete(dir);
  }
}

export async function collectGarbage(
  layout: StoreLayout,
  refs: RefEntry[],
  sizes: LayerSizes,
  opts: GarbageCollectionOptions = {},
): Promise<GarbageCollectionResult> {
  const minAgeMs = opts.minAgeMs ?? 0;
  const now = Date.now();
  const contents = await contentsOfRefs(layout, refs);

  const liveBlobs = new Set<string>();
  const liveLayers = new Set<string>();
  for (const ref of refs) if (ref.pinnedDigest !== undefined && isSha256Digest(ref.pinnedDigest)) liveBlobs.add(sha256Hex(ref.pinnedDigest));
  for (const content of contents.values()) {
    for (const blob of content.blobs) liveBlobs.add(sha256Hex(blob));
    for (const diffId of content.diffIds) liveLayers.add(sha256Hex(diffId));
  }
  for (const dir of opts.keepLayerDirs ?? []) {
    const abs = resolve(dir);
    if (dirname(abs) === layout.layersDir) liveLayers.add(basename(abs));
  }

  const result: GarbageCollectionResult = { removedBlobs: 0, removedLayers: 0, freedBytes: 0 };
  const isOldEnough = (ctimeMs: number): boolean => now - ctimeMs >= minAgeMs;

  for (const hex of await readdir(layout.blobsDir)) {
    if (liveBlobs.has(hex)) continue;
    const path = join(layout.blobsDir, hex);
    const st = await lstat(path);
    if (!isOldEnough(st.ctimeMs)) continue;
    await rm(path, { force: true });
    result.removedBlobs++;
    result.freedBytes += st.size;
  }

  for (const hex of await readdir(layout.layersDir)) {
    if (liveLayers.has(hex)) continue;
    const path = join(layout.layersDir, hex);
    const st = await lstat(path);
    if (!isOldEnough(st.ctimeMs)) continue;
    const bytes = await sizes.of(path);
    await rm(path, { recursive: true, force: true });
    sizes.forget(path);
    result.removedLayers++;
    result.freedBytes += bytes;
  }

  // The blob → diff_id index only saves re-hashing: an entry whose blob or layer is gone is dropped.
  const blobsLeft = new Set(await readdir(layout.blobsDir));
  const layersLeft = new Set(await readdir(layout.layersDir));
  for (const hex of await readdir(layout.diffIdsDir)) {
    const path = join(layout.diffIdsDir, hex);
    const diffId = parseLayerIndex(await readFile(path, 'utf8').catch(() => ''))?.diffId;
    const layerHex = diffId !== undefined ? sha256Hex(diffId) : undefined;
    if (blobsLeft.has(hex) && layerHex !== undefined && layersLeft.has(layerHex)) continue;
    await rm(path, { force: true });
  }
  return result;
}

/** unpackedBytesOf: an image's unpacked size by manifest digest (the store knows it). */
export async function diskUsage(layout: StoreLayout, refs: RefEntry[], sizes: LayerSizes, unpackedBytesOf: (manifestDigest: string) => Promise<number>): Promise<DiskUsage> {
  const contents = await contentsOfRefs(layout, refs);

  const blobBytes = new Map<string, number>();
  for (const hex of await readdir(layout.blobsDir)) blobBytes.set(hex, (await lstat(join(layout.blobsDir, hex))).size);
  const layerBytes = new Map<string, number>();
  for (const hex of await readdir(layout.layersDir)) layerBytes.set(hex, await sizes.of(join(layout.layersDir, hex)));
  let total = 0;
  for (const bytes of [...blobBytes.values(), ...layerBytes.values()]) total += bytes;

  // Which manifests use each item ('b:<hex>' for a blob, 'l:<hex>' for a layer).
  const users = new Map<string, Set<string>>();
  const itemsOf = new Map<string, Set<string>>();
  for (const [manifest, content] of contents) {
    const items = new Set([...content.blobs.map((d) => `b:${sha256Hex(d)}`), ...content.diffIds.map((d) => `l:${sha256Hex(d)}`)]);
    itemsOf.set(manifest, items);
    for (const item of items) {
      const set = users.get(item) ?? new Set<string>();
      set.add(manifest);
      users.set(item, set);
    }
  }
  const bytesOf = (item: string): number => (item.startsWith('b:') ? blobBytes : layerBytes).get(item.slice(2)) ?? 0;

  const images: ImageDiskUsage[] = [];
  for (const ref of refs) {
    let diskBytes = 0;
    let uniqueBytes = 0;
    for (const item of itemsOf.get(ref.manifestDigest) ?? []) {
      const bytes = bytesOf(item);
      diskBytes += bytes;
      if ((users.get(item)?.size ?? 0) <= 1) uniqueBytes += bytes;
    }
    images.push({ reference: ref.reference, digest: ref.manifestDigest, unpackedBytes: await unpackedBytesOf(ref.manifestDigest), diskBytes, uniqueBytes });
  }
  return { total, images: images.sort((a, b) => a.reference.localeCompare(b.reference)) };
}

/**
 * The content of every manifest the refs name. A ref whose manifest or config cannot be read stops the
 * collection: refs are written only for complete images, so that is damage an operator must look at,
 * and guessing would risk deleting what a live image needs.
 */
async function contentsOfRefs(layout: StoreLayout, refs: RefEntry[]): Promise<Map<string, ImageContent>> {
  const contents = new Map<string, ImageContent>();
  for (const ref of refs) {
    if (contents.has(ref.manifestDigest)) continue;
    try {
      contents.set(ref.manifestDigest, await contentOf(layout, ref.manifestDigest));
    } catch (err) {
      throw new ImageStoreError(
        err instanceof ImageStoreError ? err.code : 'blob_not_found',
        `image ${ref.reference} (${ref.manifestDigest}) cannot be read, so its content cannot be told apart from garbage: ${(err as Error).message}. Remove the ref (store.remove) or pull the image again.`,
        { cause: err },
      );
    }
  }
  return contents;
}

async function contentOf(layout: StoreLayout, manifestDigest: string): Promise<ImageContent> {
  const manifest = parseManifest(await readFile(layout.blobPath(manifestDigest)), manifestDigest);
  const config = parseImageConfig(await readFile(layout.blobPath(manifest.config.digest)), manifest.config.digest);
  return {
    blobs: [manifestDigest, manifest.config.digest, ...manifest.layers.map((layer) => layer.digest)],
    diffIds: config.rootfs.diff_ids,
  };
}

/** Disk bytes of a tree (st_blocks × 512), each inode once, without following symlinks. */
export async function directoryBytes(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const visit = async (path: string): Promise<void> => {
    const st = await lstat(path);
    const inode = `${st.dev}:${st.ino}`;
    if (seen.has(inode)) return;
    seen.add(inode);
    total += st.blocks * 512;
    if (st.isDirectory()) for (const name of await readdir(path)) await visit(join(path, name));
  };
  try {
    await stat(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  await visit(dir);
  return total;
}

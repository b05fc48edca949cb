/**
 * The snapshot store: OCI images on local disk, content-addressed, each layer unpacked once and shared
 * by every image that has it (store/store-layout.ts shows the layout). An image is what a ref names:
 * a manifest blob, whose config blob gives the runtime config and the layers' diff_ids, each an
 * unpacked directory in layers/. A sandbox mounts those directories, bottom-most first in layerDirs,
 * as overlayfs lower dirs under a fresh upper dir.
 *
 * Everything enters through tmp/ and a rename, and is verified before it does: blobs against their
 * sha256, layers against the unpacker's rules, refs against a complete image. So a registry pull or a
 * tarball import is putBlob for each blob, addLayer for each layer and tagImage at the end; what a
 * crash interrupts is garbage in tmp/, removed by the next init().
 *
 * The root is private (0700): layer directories hold the images' setuid binaries, which a host user
 * must not be able to reach. Writing whiteouts and ownership needs root.
 *
 * Removal is remove(ref) and then collectGarbage (image-gc.ts), which deletes what no ref names. So
 * that a collection never takes what a pull has stored but not yet tagged, adding runs under
 * withGarbageCollectionPaused (the puller, the importer and the recipe builder do; putBlob, addLayer
 * and tagImage each do on their own as well).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, relative, resolve as resolvePath } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  collectGarbage,
  diskUsage,
  LayerSizes,
  type GarbageCollectionOptions,
  type GarbageCollectionResult,
  type RefEntry,
} from './image-gc.js';
import type { DiskUsage } from '../contract/disk-usage.js';
import { formatReference, parseReference } from '../contract/image-reference.js';
import type { StoredImage } from '../contract/stored-image.js';
import { ImageStoreError } from './image-store-error.js';
import { DigestingStream, isSha256Digest, sha256Hex } from './store/digest.js';
import { exists, isDirectory, listFiles, readIfExists } from './store/fs-probe.js';
import { GcLock } from './store/gc-lock.js';
import { LayerAdmission, type AddedLayer } from './store/layer-admission.js';
import { parseImageConfig, parseIndex, parseManifest, runtimeConfigOf } from './store/oci-image.js';
import { clearStaleStaging, makeStagingDir, stagingPath, syncDir, writeFileAtomic } from './store/staging.js';
import { StoreLayout } from './store/store-layout.js';
import { resolveWorkingDir, workingDirMessage } from './store/working-dir.js';
import { UNPACK_BOUNDS_DEFAULT, UnpackBudget, type LayerStats, type UnpackBounds } from './store/unpack-budget.js';

export type { ImageConfig, StoredImage } from '../contract/stored-image.js';
export type { WorkingDir } from '../contract/working-dir.js';
export { ImageStoreError, type ImageStoreErrorCode } from './image-store-error.js';
export type { DiskUsage, ImageDiskUsage } from '../contract/disk-usage.js';
export type { GarbageCollectionOptions, GarbageCollectionResult } from './image-gc.js';
export { UnpackBudget, UNPACK_BOUNDS_DEFAULT, UNPACK_BOUNDS_MAXIMUM, type LayerStats, type UnpackBounds } from './store/unpack-budget.js';

export interface SnapshotStoreOptions {
  /** What one image may unpack to (store/unpack-budget.ts). Default UNPACK_BOUNDS_DEFAULT. */
  unpackBounds?: UnpackBounds;
}

export interface PutBlobResult {
  digest: string;
  size: number;
}

export type { AddedLayer };

type BlobSource = Buffer | Readable | AsyncIterable<Uint8Array>;

/** What a manifest digest resolves to, whatever reference named it. */
type LoadedImage = Omit<StoredImage, 'reference' | 'digest'>;

export class SnapshotStore {
  readonly root: string;
  readonly #layout: StoreLayout;
  /** Parsed images by manifest digest: content-addressed, so never stale while their layers stay. */
  readonly #images = new Map<string, Promise<LoadedImage>>();
  readonly #gcLock = new GcLock();
  readonly #layers: LayerAdmission;
  readonly #layerSizes = new LayerSizes();
  readonly #unpackBounds: Readonly<UnpackBounds>;

  constructor(root: string, opts: SnapshotStoreOptions = {}) {
    this.root = root;
    this.#layout = new StoreLayout(root);
    this.#unpackBounds = opts.unpackBounds ?? UNPACK_BOUNDS_DEFAULT;
    this.#layers = new LayerAdmission(this.#layout, this.#gcLock);
  }

  /** A fresh budget for one image: pass it to every addLayer of that image. */
  unpackBudget(what = 'the image'): UnpackBudget {
    return new UnpackBudget(this.#unpackBounds, what);
  }

  /** Creates the layout and removes what crashed writers left in tmp/. */
  async init(): Promise<void> {
    for (const dir of this.#layout.dirs) await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(this.root, 0o700);
    await clearStaleStaging(this.#layout.tmpDir);
  }

  /** The image a reference names ('busybox' works), or undefined when the store has no such ref. */
  async resolve(reference: string): Promise<StoredImage | undefined> {
    const ref = parseReference(reference);
    const digest = await this.#readRef(this.#layout.refPath(ref));
    if (digest === undefined) return undefined;
    return this.#storedImage(formatReference(ref), digest);
  }

  /** Every tagged or pinned image, sorted by reference. */
  async list(onBroken?: (reference: string, err: unknown) => void): Promise<StoredImage[]> {
    const images: StoredImage[] = [];
    for (const file of await listFiles(this.#layout.refsDir)) {
      const ref = this.#layout.referenceOfRefPath(relative(this.#layout.refsDir, file));
      if (ref === undefined) continue;
      // One damaged image (a blob deleted by hand, say) must not hide the others, nor stop a server.
      try {
        const digest = await this.#readRef(file);
        if (digest !== undefined) images.push(await this.#storedImage(formatReference(ref), digest));
      } catch (err) {
        onBroken?.(formatReference(ref), err);
      }
    }
    return images.sort((a, b) => a.reference.localeCompare(b.reference));
  }

  /**
   * Stores a blob: streamed into tmp/ while hashed, and renamed into blobs/ only when its sha256 is
   * expectedDigest (when given). A blob already present is left untouched.
   */
  async putBlob(data: BlobSource, expectedDigest?: string): Promise<PutBlobResult> {
    if (expectedDigest !== undefined) sha256Hex(expectedDigest);
    return this.#gcLock.shared(() => this.#putBlob(data, expectedDigest));
  }

  /**
   * Admits a file that the caller wrote into this store's staging (makeStagingDir) as a blob, by
   * renaming it: it is read once to hash it, never copied. Verified like putBlob; the file is gone
   * afterwards either way.
   */
  async adoptStagedBlob(path: string, expectedDigest?: string): Promise<PutBlobResult> {
    if (expectedDigest !== undefined) sha256Hex(expectedDigest);
    const abs = resolvePath(path);
    if (!abs.startsWith(this.#layout.tmpDir + '/')) {
      throw new Error(`adoptStagedBlob: ${path} is not in the store's staging ${this.#layout.tmpDir}: use putBlob`);
    }
    return this.#gcLock.shared(async () => {
      try {
        const tap = new DigestingStream();
        await pipeline(createReadStream(abs), tap, async (chunks: AsyncIterable<unknown>) => {
          for await (const _ of chunks); // hashing is all
        });
        if (expectedDigest !== undefined && tap.digest !== expectedDigest) {
          throw new ImageStoreError('digest_mismatch', `blob content has digest ${tap.digest}, not the expected ${expectedDigest} (${tap.size} bytes)`);
        }
        const dest = this.#layout.blobPath(tap.digest);
        if (!(await exists(dest))) await rename(abs, dest);
        return { digest: tap.digest, size: tap.size };
      } finally {
        await rm(abs, { force: true });
      }
    });
  }

  async #putBlob(data: BlobSource, expectedDigest: string | undefined): Promise<PutBlobResult> {
    const tmp = stagingPath(this.#layout.tmpDir, 'blob');
    const tap = new DigestingStream();
    try {
      const source = Buffer.isBuffer(data) ? Readable.from([data]) : data;
      await pipeline(source, tap, createWriteStream(tmp, { flags: 'wx', mode: 0o644, flush: true }));
      if (expectedDigest !== undefined && tap.digest !== expectedDigest) {
        throw new ImageStoreError('digest_mismatch', `blob content has digest ${tap.digest}, not the expected ${expectedDigest} (${tap.size} bytes)`);
      }
      const dest = this.#layout.blobPath(tap.digest);
      if (await exists(dest)) await rm(tmp);
      else await rename(tmp, dest);
      return { digest: tap.digest, size: tap.size };
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async hasBlob(digest: string): Promise<boolean> {
    return exists(this.#layout.blobPath(digest));
  }

  /** A stored blob's bytes as a stream (a layer to send to another host); ENOENT when the store lacks it. */
  openBlob(digest: string): Readable {
    return createReadStream(this.#layout.blobPath(digest));
  }

  /** Where a stored blob's file is (for a hard link into another content-addressed store). */
  blobFilePath(digest: string): string {
    return this.#layout.blobPath(digest);
  }

  /** A stored blob's size in bytes; ENOENT when the store lacks it. */
  async blobSize(digest: string): Promise<number> {
    return (await stat(this.#layout.blobPath(digest))).size;
  }

  async readBlob(digest: string): Promise<Buffer> {
    try {
      return await readFile(this.#layout.blobPath(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new ImageStoreError('blob_not_found', `blob ${digest} is not in the store`, { cause: err });
      }
      throw err;
    }
  }

  /**
   * Unpacks a stored layer blob into layers/<diffid>/, once (store/layer-admission.ts). With
   * expectedDiffId (a registry pull knows it from the image config), a layer whose tar hashes
   * otherwise is rejected. The layer is charged to budget, the image's (a fresh one per layer when
   * none is given): while it streams when this call unpacks it, by its recorded size when it was
   * there already.
   */
  addLayer(layerBlobDigest: string, expectedDiffId?: string, budget: UnpackBudget = this.unpackBudget()): Promise<AddedLayer> {
    return this.#layers.add(layerBlobDigest, expectedDiffId, budget);
  }

  /** The uncompressed size and entries of an unpacked layer, by its blob and diff_id. */
  layerStats(layerBlobDigest: string, diffId: string): Promise<LayerStats> {
    return this.#layers.stats(layerBlobDigest, diffId);
  }

  /**
   * Points a reference at a manifest, after checking that the image is complete: manifest and config
   * blobs stored and parseable, every layer unpacked. A digest reference must name that manifest, or
   * (with opts.indexDigest) the stored image index that lists it: a multi-platform image pulled by
   * digest is the index's digest, and the ref then leads to this platform's manifest.
   */
  async tagImage(reference: string, manifestDigest: string, opts: { indexDigest?: string } = {}): Promise<void> {
    const ref = parseReference(reference);
    sha256Hex(manifestDigest);
    if (ref.digest !== undefined && ref.digest !== manifestDigest) {
      if (ref.digest !== opts.indexDigest) {
        throw new ImageStoreError('reference_mismatch', `reference ${reference} pins ${ref.digest}, not ${manifestDigest}`);
      }
      const index = parseIndex(await this.readBlob(opts.indexDigest), opts.indexDigest);
      if (!index.manifests.some((m) => m.digest === manifestDigest)) {
        throw new ImageStoreError('reference_mismatch', `reference ${reference} pins index ${opts.indexDigest}, which does not list ${manifestDigest}`);
      }
    }
    await this.#gcLock.shared(async () => {
      await this.#load(manifestDigest);
      const path = this.#layout.refPath(ref);
      if ((await this.#readRef(path)) === manifestDigest) return;
      await writeFileAtomic(path, `${manifestDigest}\n`, this.#layout.tmpDir);
    });
  }

  /**
   * Throws 'invalid_config' (field config.WorkingDir) for an image no job could start in: pulls and
   * imports check it before they tag an image (store/working-dir.ts).
   */
  async checkRunnable(manifestDigest: string): Promise<void> {
    const image = await this.#load(manifestDigest);
    if ('problem' in image.workdir) {
      throw new ImageStoreError('invalid_config', workingDirMessage(image.config.workingDir, image.workdir.problem), { field: 'config.WorkingDir' });
    }
  }

  /**
   * Runs fn, which adds blobs, layers and refs, with garbage collection held off until it ends: what
   * fn stores is unreferenced until its ref is written, and must not be collected meanwhile.
   */
  withGarbageCollectionPaused<T>(fn: () => Promise<T>): Promise<T> {
    return this.#gcLock.shared(fn);
  }

  /**
   * Removes a reference (a tag, or a digest reference); its content stays until collectGarbage.
   * Returns false when the store had no such ref. Sandboxes of the image keep running: they have its
   * layer directories, which collectGarbage's keepLayerDirs protects.
   */
  async remove(reference: string): Promise<boolean> {
    const path = this.#layout.refPath(parseReference(reference));
    try {
      await rm(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    await syncDir(dirname(path));
    return true;
  }

  /**
   * Deletes the blobs and unpacked layers that no ref names (image-gc.ts), after the pulls and imports
   * in progress have finished, and holding off new ones until done.
   */
  async collectGarbage(opts: GarbageCollectionOptions = {}): Promise<GarbageCollectionResult> {
    return this.#gcLock.exclusive(async () => {
      try {
        return await collectGarbage(this.#layout, await this.#refEntries(), this.#layerSizes, opts);
      } finally {
        this.#images.clear(); // parsed images whose layers went must not resolve from the cache
      }
    });
  }

  /** Bytes on disk: all of the store's blobs and layers, and per ref its size and unique part. */
  async diskUsage(): Promise<DiskUsage> {
    const unpackedBytesOf = (digest: string): Promise<number> => this.#load(digest).then((image) => image.unpackedBytes, () => 0);
    return this.#gcLock.shared(async () => diskUsage(this.#layout, await this.#refEntries(), this.#layerSizes, unpackedBytesOf));
  }

  async #refEntries(): Promise<RefEntry[]> {
    const entries: RefEntry[] = [];
    for (const file of await listFiles(this.#layout.refsDir)) {
      const ref = this.#layout.referenceOfRefPath(relative(this.#layout.refsDir, file));
      if (ref === undefined) continue;
      const digest = await this.#readRef(file);
      if (digest === undefined) continue;
      const entry: RefEntry = { reference: formatReference(ref), manifestDigest: digest };
      if (ref.digest !== undefined) entry.pinnedDigest = ref.digest;
      entries.push(entry);
    }
    return entries;
  }

  /** A private directory under tmp/ for building something that will enter the store. */
  async makeStagingDir(label: string): Promise<string> {
    return makeStagingDir(this.#layout.tmpDir, label);
  }

  async #readRef(path: string): Promise<string | undefined> {
    const text = await readIfExists(path);
    if (text === undefined) return undefined;
    const digest = text.trim();
    if (!isSha256Digest(digest)) {
      throw new ImageStoreError('invalid_digest', `ref file ${path} holds ${JSON.stringify(digest)}, not a sha256 digest`);
    }
    return digest;
  }

  async #storedImage(reference: string, digest: string): Promise<StoredImage> {
    const image = await this.#load(digest);
    return {
      reference,
      digest,
      config: {
        entrypoint: [...image.config.entrypoint],
        cmd: [...image.config.cmd],
        env: [...image.config.env],
        workingDir: image.config.workingDir,
        user: image.config.user,
      },
      layerDirs: [...image.layerDirs],
      compressedBytes: image.compressedBytes,
      unpackedBytes: image.unpackedBytes,
      workdir: { ...image.workdir },
      createdAt: image.createdAt,
    };
  }

  #load(manifestDigest: string): Promise<LoadedImage> {
    let loading = this.#images.get(manifestDigest);
    if (!loading) {
      loading = this.#parseImage(manifestDigest);
      loading.catch(() => this.#images.delete(manifestDigest));
      this.#images.set(manifestDigest, loading);
    }
    return loading;
  }

  async #parseImage(manifestDigest: string): Promise<LoadedImage> {
    const manifest = parseManifest(await this.readBlob(manifestDigest), manifestDigest);
    const config = parseImageConfig(await this.readBlob(manifest.config.digest), manifest.config.digest);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw new ImageStoreError('invalid_manifest', `manifest ${manifestDigest} has ${manifest.layers.length} layers but its config lists ${diffIds.length} diff_ids`);
    }
    const layerDirs = diffIds.map((diffId) => this.#layout.layerDir(diffId));
    for (const [i, dir] of layerDirs.entries()) {
      if (!(await isDirectory(dir))) {
        throw new ImageStoreError('incomplete_image', `image ${manifestDigest}: layer ${manifest.layers[i]?.digest} (diff_id ${diffIds[i]}) is not unpacked: addLayer it first`);
      }
    }
    let unpackedBytes = 0;
    for (const [i, layer] of manifest.layers.entries()) unpackedBytes += (await this.layerStats(layer.digest, diffIds[i] as string)).tarBytes;
    const runtimeConfig = runtimeConfigOf(config);
    return {
      config: runtimeConfig,
      layerDirs,
      workdir: await resolveWorkingDir(runtimeConfig.workingDir, layerDirs),
      compressedBytes: manifest.layers.reduce((sum, layer) => sum + layer.size, manifest.config.size),
      unpackedBytes,
      createdAt: config.created ?? '',
    };
  }
}


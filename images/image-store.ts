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
import { chmod, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve as resolvePath } from 'node:path';
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
import { unpackLayer } from './store/layer-unpack.js';
import { GcLock } from './store/gc-lock.js';
import { parseImageConfig, parseIndex, parseManifest, runtimeConfigOf } from './store/oci-image.js';
import { clearStaleStaging, makeStagingDir, stagingPath, syncDir, writeFileAtomic } from './store/staging.js';
import { StoreLayout } from './store/store-layout.js';

export type { ImageConfig, StoredImage } from '../contract/stored-image.js';
export { ImageStoreError, type ImageStoreErrorCode } from './image-store-error.js';
export type { DiskUsage, ImageDiskUsage } from '../contract/disk-usage.js';
export type { GarbageCollectionOptions, GarbageCollectionResult } from './image-gc.js';

export interface PutBlobResult {
  digest: string;
  size: number;
}

export interface AddedLayer {
  /** sha256 of the uncompressed layer tar, as in the image config's rootfs.diff_ids. */
  diffId: string;
  /** The unpacked layer. */
  dir: string;
}

type BlobSource = Buffer | Readable | AsyncIterable<Uint8Array>;

/** What a manifest digest resolves to, whatever reference named it. */
type LoadedImage = Omit<StoredImage, 'reference' | 'digest'>;

export class SnapshotStore {
  readonly root: string;
  readonly #layout: StoreLayout;
  /** Parsed images by manifest digest: content-addressed, so never stale while their layers stay. */
  readonly #images = new Map<string, Promise<LoadedImage>>();
  /** Layer unpacks in progress by blob digest, so that concurrent pulls of one layer unpack it once. */
  readonly #unpacking = new Map<string, Promise<AddedLayer>>();
  readonly #gcLock = new GcLock();
  readonly #layerSizes = new LayerSizes();

  constructor(root: string) {
    this.root = root;
    this.#layout = new StoreLayout(root);
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
   * Unpacks a stored layer blob into layers/<diffid>/, once: a blob already unpacked is found by its
   * digest without reading it again; a blob with the same content as an unpacked one (another
   * compression) is unpacked into staging, hashed, and dropped. With expectedDiffId (a registry pull
   * knows it from the image config), a layer whose tar hashes otherwise is rejected.
   */
  async addLayer(layerBlobDigest: string, expectedDiffId?: string): Promise<AddedLayer> {
    sha256Hex(layerBlobDigest);
    if (expectedDiffId !== undefined) sha256Hex(expectedDiffId);
    let job = this.#unpacking.get(layerBlobDigest);
    if (!job) {
      job = this.#gcLock.shared(() => this.#addLayer(layerBlobDigest, expectedDiffId)).finally(() => this.#unpacking.delete(layerBlobDigest));
      this.#unpacking.set(layerBlobDigest, job);
    }
    const added = await job;
    if (expectedDiffId !== undefined && added.diffId !== expectedDiffId) {
      throw new ImageStoreError('digest_mismatch', `layer ${layerBlobDigest} has diff_id ${added.diffId}, not the expected ${expectedDiffId}`);
    }
    return added;
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
    return this.#gcLock.shared(async () => diskUsage(this.#layout, await this.#refEntries(), this.#layerSizes));
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

  async #addLayer(blobDigest: string, expectedDiffId: string | undefined): Promise<AddedLayer> {
    const blob = this.#layout.blobPath(blobDigest);
    if (!(await exists(blob))) throw new ImageStoreError('blob_not_found', `layer blob ${blobDigest} is not in the store: putBlob it first`);

    // Only our own unpack of this very blob may vouch for its diff_id: taking a manifest's word for it
    // would let an image name another image's layer and have it mounted without holding its content.
    const known = await this.#readDiffIdIndex(blobDigest);
    if (known !== undefined && (await exists(this.#layout.layerDir(known)))) {
      return { diffId: known, dir: this.#layout.layerDir(known) };
    }

    const staging = await makeStagingDir(this.#layout.tmpDir, 'layer');
    try {
      const rootfs = join(staging, 'rootfs');
      const { diffId } = await unpackLayer(blob, rootfs);
      if (expectedDiffId !== undefined && diffId !== expectedDiffId) {
        throw new ImageStoreError('digest_mismatch', `layer ${blobDigest} has diff_id ${diffId}, not the expected ${expectedDiffId}`);
      }
      const dir = this.#layout.layerDir(diffId);
      try {
        await rename(rootfs, dir);
      } catch (err) {
        // Another process unpacked the same layer first; its copy is as good as ours.
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      }
      await writeFileAtomic(this.#layout.diffIdIndexPath(blobDigest), `${diffId}\n`, this.#layout.tmpDir);
      return { diffId, dir };
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  async #readDiffIdIndex(blobDigest: string): Promise<string | undefined> {
    const text = await readIfExists(this.#layout.diffIdIndexPath(blobDigest));
    const diffId = text?.trim();
    return diffId !== undefined && isSha256Digest(diffId) ? diffId : undefined;
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
      sizeBytes: image.sizeBytes,
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
    return {
      config: runtimeConfigOf(config),
      layerDirs,
      sizeBytes: manifest.layers.reduce((sum, layer) => sum + layer.size, manifest.config.size),
      createdAt: config.created ?? '',
    };
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Regular files under dir, recursively, without following symlinks. */
async function listFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

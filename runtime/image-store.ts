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
 */
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { formatReference, parseReference } from './image-reference.js';
import { ImageStoreError } from './image-store-error.js';
import { DigestingStream, isSha256Digest, sha256Hex } from './store/digest.js';
import { unpackLayer } from './store/layer-unpack.js';
import { parseImageConfig, parseManifest, runtimeConfigOf, type ImageConfig } from './store/oci-image.js';
import { clearStaleStaging, makeStagingDir, stagingPath, writeFileAtomic } from './store/staging.js';
import { StoreLayout } from './store/store-layout.js';

export type { ImageConfig } from './store/oci-image.js';
export { ImageStoreError, type ImageStoreErrorCode } from './image-store-error.js';

export interface StoredImage {
  /** The normalized reference it was resolved by: 'docker.io/library/busybox:latest'. */
  reference: string;
  /** Manifest digest, 'sha256:…'. */
  digest: string;
  config: ImageConfig;
  /** Absolute paths of the unpacked layers, BOTTOM-most first (overlayfs wants them reversed). */
  layerDirs: string[];
  /** Bytes of its blobs as stored (config plus layers, compressed as given): what a pull transfers. */
  sizeBytes: number;
  /** The image config's `created`, or '' when it has none. */
  createdAt: string;
}

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
  async list(): Promise<StoredImage[]> {
    const images: StoredImage[] = [];
    for (const file of await listFiles(this.#layout.refsDir)) {
      const ref = this.#layout.referenceOfRefPath(relative(this.#layout.refsDir, file));
      if (ref === undefined) continue;
      const digest = await this.#readRef(file);
      if (digest !== undefined) images.push(await this.#storedImage(formatReference(ref), digest));
    }
    return images.sort((a, b) => a.reference.localeCompare(b.reference));
  }

  /**
   * Stores a blob: streamed into tmp/ while hashed, and renamed into blobs/ only when its sha256 is
   * expectedDigest (when given). A blob already present is left untouched.
   */
  async putBlob(data: BlobSource, expectedDigest?: string): Promise<PutBlobResult> {
    if (expectedDigest !== undefined) sha256Hex(expectedDigest);
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
      job = this.#addLayer(layerBlobDigest, expectedDiffId).finally(() => this.#unpacking.delete(layerBlobDigest));
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
   * blobs stored and parseable, every layer unpacked. A digest reference must name that manifest.
   */
  async tagImage(reference: string, manifestDigest: string): Promise<void> {
    const ref = parseReference(reference);
    sha256Hex(manifestDigest);
    if (ref.digest !== undefined && ref.digest !== manifestDigest) {
      throw new ImageStoreError('reference_mismatch', `reference ${reference} pins ${ref.digest}, not ${manifestDigest}`);
    }
    await this.#load(manifestDigest);
    const path = this.#layout.refPath(ref);
    if ((await this.#readRef(path)) === manifestDigest) return;
    await writeFileAtomic(path, `${manifestDigest}\n`, this.#layout.tmpDir);
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

/**
 * Layers entering the snapshot store (SnapshotStore.addLayer): each layer blob unpacked once into
 * layers/<diff_id>/ by the safe unpacker (layer-unpack.ts), within the image's UnpackBudget, and
 * indexed by its blob with its size (layer-index.ts), so that it is never read again. Concurrent adds
 * of one blob share one unpack.
 */
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageStoreError } from '../image-store-error.js';
import { sha256Hex } from './digest.js';
import { exists, readIfExists } from './fs-probe.js';
import type { GcLock } from './gc-lock.js';
import { estimateLayerStats, formatLayerIndex, parseLayerIndex, type LayerIndexEntry } from './layer-index.js';
import { unpackLayer } from './layer-unpack.js';
import { makeStagingDir, writeFileAtomic } from './staging.js';
import type { StoreLayout } from './store-layout.js';
import { isUnpackBoundError, type LayerStats, type UnpackBudget } from './unpack-budget.js';

export interface AddedLayer {
  /** sha256 of the uncompressed layer tar, as in the image config's rootfs.diff_ids. */
  diffId: string;
  /** The unpacked layer. */
  dir: string;
  /** Its uncompressed tar's bytes and entries. */
  stats: LayerStats;
}

/** An add in progress, and the budget its unpack is charged to. */
interface UnpackJob {
  budget: UnpackBudget;
  result: Promise<AddedLayer & { unpackedNow: boolean }>;
}

export class LayerAdmission {
  readonly #layout: StoreLayout;
  readonly #gcLock: GcLock;
  /** Unpacks in progress by blob digest, so that concurrent pulls of one layer unpack it once. */
  readonly #unpacking = new Map<string, UnpackJob>();

  constructor(layout: StoreLayout, gcLock: GcLock) {
    this.#layout = layout;
    this.#gcLock = gcLock;
  }

  /**
   * Unpacks a stored layer blob into layers/<diffid>/, once: a blob already unpacked is found by its
   * digest without reading it again; a blob with the same content as an unpacked one (another
   * compression) is unpacked into staging, hashed, and dropped. With expectedDiffId (a registry pull
   * knows it from the image config), a layer whose tar hashes otherwise is rejected.
   *
   * The layer is charged to budget, the image's (a fresh one per layer when none is given): while it
   * streams when this call unpacks it, at once by its recorded size when it was there already.
   */
  async add(layerBlobDigest: string, expectedDiffId: string | undefined, budget: UnpackBudget): Promise<AddedLayer> {
    sha256Hex(layerBlobDigest);
    if (expectedDiffId !== undefined) sha256Hex(expectedDiffId);
    const added = await this.#unpackShared(layerBlobDigest, expectedDiffId, budget);
    if (!added.unpackedNow) budget.charge(added.stats);
    if (expectedDiffId !== undefined && added.diffId !== expectedDiffId) {
      throw new ImageStoreError('digest_mismatch', `layer ${layerBlobDigest} has diff_id ${added.diffId}, not the expected ${expectedDiffId}`);
    }
    return { diffId: added.diffId, dir: added.dir, stats: added.stats };
  }

  /**
   * Concurrent adds of one blob share one unpack, made with the first caller's budget and expected
   * diff_id; another caller whose own image did not cause its failure (a bound of that image, a
   * diff_id that image expected) tries again on its own. unpackedNow says whether the budget given
   * was charged while streaming.
   */
  async #unpackShared(blobDigest: string, expectedDiffId: string | undefined, budget: UnpackBudget): Promise<AddedLayer & { unpackedNow: boolean }> {
    const running = this.#unpacking.get(blobDigest);
    if (running) {
      try {
        const added = await running.result;
        return { ...added, unpackedNow: added.unpackedNow && running.budget === budget };
      } catch (err) {
        const callerBound = isUnpackBoundError(err) || (err instanceof ImageStoreError && err.code === 'digest_mismatch');
        if (running.budget === budget || !callerBound) throw err;
      }
      return this.#unpackShared(blobDigest, expectedDiffId, budget);
    }
    const result = this.#gcLock.shared(() => this.#addLayer(blobDigest, expectedDiffId, budget)).finally(() => this.#unpacking.delete(blobDigest));
    this.#unpacking.set(blobDigest, { budget, result });
    return result;
  }

  /**
   * The uncompressed size and entries of an unpacked layer, by its blob and diff_id: as recorded by
   * its unpack; estimated from its directory where an older version (or a crash between unpack and
   * index) recorded none.
   */
  async stats(layerBlobDigest: string, diffId: string): Promise<LayerStats> {
    const index = await this.#readLayerIndex(layerBlobDigest);
    if (index?.diffId === diffId) return index.stats ?? this.#estimateStats(layerBlobDigest, diffId);
    return estimateLayerStats(this.#layout.layerDir(diffId));
  }

  async #estimateStats(blobDigest: string, diffId: string): Promise<LayerStats> {
    const stats = await estimateLayerStats(this.#layout.layerDir(diffId));
    await writeFileAtomic(this.#layout.diffIdIndexPath(blobDigest), formatLayerIndex(diffId, stats), this.#layout.tmpDir);
    return stats;
  }

  async #addLayer(blobDigest: string, expectedDiffId: string | undefined, budget: UnpackBudget): Promise<AddedLayer & { unpackedNow: boolean }> {
    const blob = this.#layout.blobPath(blobDigest);
    if (!(await exists(blob))) throw new ImageStoreError('blob_not_found', `layer blob ${blobDigest} is not in the store: putBlob it first`);

    // Only our own unpack of this very blob may vouch for its diff_id: taking a manifest's word for it
    // would let an image name another image's layer and have it mounted without holding its content.
    const known = await this.#readLayerIndex(blobDigest);
    if (known !== undefined && (await exists(this.#layout.layerDir(known.diffId)))) {
      const stats = known.stats ?? (await this.#estimateStats(blobDigest, known.diffId));
      return { diffId: known.diffId, dir: this.#layout.layerDir(known.diffId), stats, unpackedNow: false };
    }

    const staging = await makeStagingDir(this.#layout.tmpDir, 'layer');
    try {
      const rootfs = join(staging, 'rootfs');
      const { diffId, stats } = await unpackLayer(blob, rootfs, { label: `layer ${blobDigest}`, budget });
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
      await writeFileAtomic(this.#layout.diffIdIndexPath(blobDigest), formatLayerIndex(diffId, stats), this.#layout.tmpDir);
      return { diffId, dir, stats, unpackedNow: true };
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  async #readLayerIndex(blobDigest: string): Promise<LayerIndexEntry | undefined> {
    const text = await readIfExists(this.#layout.diffIdIndexPath(blobDigest));
    return text === undefined ? undefined : parseLayerIndex(text);
  }
}

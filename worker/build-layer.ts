/**
 * A judge's build output, kept: the writable layer of a finished build sandbox (a capture run,
 * runtime/sandbox.ts WritableLayer) becomes one content-addressed layer stacked on the build's
 * image, stored and tagged as an image of its own (`warmbox.internal/judge-build:<job id>`), and
 * recorded in the db like any image. Each test of the judge run is then an ordinary job of that
 * image: a fresh sandbox of image + build layer, from the warm pool of its digest.
 *
 * The layer is the compiler's work, so hostile: it is walked without following a symlink (lstat),
 * device nodes, FIFOs and sockets are left out (an overlayfs whiteout becomes an OCI one), and it
 * enters the store through the same admission and safe unpacker as a pulled layer. Its size was
 * bounded by the build's disk limit (the sandbox's tmpfs). The image's `created` is the base image's,
 * and so is the latest mtime in the layer (what the build wrote is newer and gets it; layer-tar.ts),
 * so the same build output gives the same layer digest.
 *
 * Workers on other hosts: the new image's manifest, config and layer are handed on (to the API's
 * blob store, worker/blob-access.ts) and its row names them with its base (contract/image-source.ts):
 * a test job that lands on a worker without the image gets it from there (worker/image-obtain.ts),
 * each blob verified by its sha256 and the layer admitted as a pulled layer is.
 *
 * A judge run removes the image when it ends (an image `remove` operation): the store's garbage
 * collection frees the layer once no sandbox mounts it any more.
 */
import { INTERNAL_IMAGE_PREFIX } from '../contract/internal-images.js';
import type { WarmboxDb } from '../db/client.js';
import type { SnapshotStore, StoredImage } from '../images/image-store.js';
import { buildLayerOnImage } from '../images/store/image-builder.js';
import { opaqueDirsOf } from '../images/store/overlay-layer.js';
import type { BuiltLayer } from '../contract/job-payload.js';
import type { ImageResolver } from './image-resolver.js';
import { recordImage } from './image-record.js';
import { imageBlobsOf } from '../images/image-transfer.js';
import type { ImageSource } from '../contract/image-source.js';
import type { BlobAccess } from './blob-access.js';

/** The repository build images are tagged in: a name no registry serves, so it is never pulled. */
export const BUILD_IMAGE_REPOSITORY = `${INTERNAL_IMAGE_PREFIX}judge-build`;

export function buildImageReference(jobId: string): string {
  return `${BUILD_IMAGE_REPOSITORY}:${jobId.toLowerCase()}`;
}

export class BuildLayerStore {
  constructor(
    private readonly store: SnapshotStore,
    private readonly db: WarmboxDb,
    private readonly resolver?: ImageResolver,
    /** Where the build image's blobs are handed on for other hosts; absent: they are not. */
    private readonly blobs?: BlobAccess,
  ) {}

  /** Stores what the build changed (upperDir) on its image; returns the new image. */
  async admit(base: StoredImage, upperDir: string, jobId: string): Promise<BuiltLayer> {
    const reference = buildImageReference(jobId);
    // A trailing slash: the path is a magic link (/proc/<pid>/fd/<n>) that getfattr must enter.
    const opaqueDirs = await opaqueDirsOf(`${upperDir}/`);
    const created = Number.isNaN(Date.parse(base.createdAt)) ? new Date(0) : new Date(base.createdAt);
    // Collection paused for the whole sequence: the new layer is unreferenced until the image's
    // ref is written, and a collection in between (another run's build image removed) takes it.
    const { digest, image } = await this.store.withGarbageCollectionPaused(async () => {
      const digest = await buildLayerOnImage(this.store, {
        reference,
        baseDigest: base.digest,
        upperDir,
        opaqueDirs,
        created,
        config: runtimeConfigOf(base),
        createdBy: 'warmbox judge build',
      });
      return { digest, image: await this.store.resolve(reference) };
    });
    if (!image) throw new Error(`the build image ${reference} was stored but does not resolve`);
    await recordImage(this.db, this.store, image, await this.handOn(image, base));
    this.resolver?.forget(reference);
    const layerDir = image.layerDirs.at(-1)!;
    return { image: reference, digest, layer: `sha256:${layerDir.split('/').at(-1)}` };
  }

  /** The blobs the build added to its base, handed on; the source a worker elsewhere gets the image from. */
  private async handOn(image: StoredImage, base: StoredImage): Promise<ImageSource | null> {
    if (!this.blobs) return null;
    const { manifest, blobs } = await imageBlobsOf(this.store, image, base);
    for (const digest of [manifest, ...blobs]) await this.blobs.publish(digest, await this.store.blobSize(digest), this.store.blobFilePath(digest), () => this.store.openBlob(digest));
    return { kind: 'blobs', manifest, blobs, base: base.reference };
  }
}

function runtimeConfigOf(image: StoredImage): { Entrypoint: string[]; Cmd: string[]; Env: string[]; WorkingDir: string; User: string } {
  const c = image.config;
  return { Entrypoint: c.entrypoint, Cmd: c.cmd, Env: c.env, WorkingDir: c.workingDir, User: c.user };
}

/**
 * Builds a single-layer OCI image from a directory tree and stores it exactly as a pull would: layer,
 * config and manifest blobs, the unpacked layer, then the ref. The layer tar is reproducible
 * (layer-tar.ts), so the same tree and `created` give the same manifest digest.
 *
 * buildSingleLayerImage holds the tar in memory (the built-in images are a few MB);
 * buildStreamedLayerImage streams it, gzip-compressed, for trees of hundreds of MB (recipe images).
 */
import { pipeline } from 'node:stream';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { PutBlobResult, SnapshotStore } from '../image-store.js';
import { encodeTar, tarEntriesOfDir, tarStreamOfDir } from './layer-tar.js';
import { MEDIA_TYPE, ociArchitecture } from './oci-image.js';

export interface SingleLayerImageSpec {
  reference: string;
  /** The image's file tree. Ownership and modes are taken as they are on disk. */
  rootfs: string;
  /** The config's `created`, and the mtime of every entry in the layer. Whole seconds. */
  created: Date;
  /** The OCI config's `config` object: Entrypoint, Cmd, Env, WorkingDir, User. */
  config: { Entrypoint?: string[]; Cmd?: string[]; Env?: string[]; WorkingDir?: string; User?: string };
  /** One line for the image history: what made the layer. */
  createdBy: string;
}

/** Stores and tags the image; returns its manifest digest. */
export async function buildSingleLayerImage(store: SnapshotStore, spec: SingleLayerImageSpec): Promise<string> {
  const created = wholeSeconds(spec.created);
  const layerTar = encodeTar(await tarEntriesOfDir(spec.rootfs, created));
  const layer = await store.putBlob(layerTar);
  const { diffId } = await store.addLayer(layer.digest, layer.digest); // uncompressed: diff_id = digest
  return storeImage(store, spec, created, { ...layer, mediaType: MEDIA_TYPE.ociLayer }, diffId);
}

/** As buildSingleLayerImage, with the layer streamed from disk and stored gzip-compressed. */
export async function buildStreamedLayerImage(store: SnapshotStore, spec: SingleLayerImageSpec): Promise<string> {
  const created = wholeSeconds(spec.created);
  const gzip = pipeline(Readable.from(tarStreamOfDir(spec.rootfs, created)), createGzip(), () => {
    // Errors reach putBlob through the gzip stream, which pipeline destroys with them.
  });
  const layer = await store.putBlob(gzip);
  const { diffId } = await store.addLayer(layer.digest);
  return storeImage(store, spec, created, { ...layer, mediaType: MEDIA_TYPE.ociLayerGzip }, diffId);
}

async function storeImage(
  store: SnapshotStore,
  spec: SingleLayerImageSpec,
  created: Date,
  layer: PutBlobResult & { mediaType: string },
  diffId: string,
): Promise<string> {
  const config = Buffer.from(JSON.stringify({
    created: created.toISOString(),
    architecture: ociArchitecture(),
    os: 'linux',
    config: spec.config,
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created: created.toISOString(), created_by: spec.createdBy }],
  }));
  const configBlob = await store.putBlob(config);

  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.ociManifest,
    config: { mediaType: MEDIA_TYPE.ociConfig, digest: configBlob.digest, size: configBlob.size },
    layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }],
  }));
  const manifestBlob = await store.putBlob(manifest);

  await store.tagImage(spec.reference, manifestBlob.digest);
  return manifestBlob.digest;
}

function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

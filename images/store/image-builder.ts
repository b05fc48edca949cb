/**
 * Builds OCI images from directory trees and stores them exactly as a pull would: layer, config and
 * manifest blobs, the unpacked layer, then the ref. The layer tar is reproducible (layer-tar.ts), so
 * the same tree and `created` give the same manifest digest.
 *
 * buildSingleLayerImage holds the tar in memory (the built-in images are a few MB);
 * buildStreamedLayerImage streams it, gzip-compressed, for trees of hundreds of MB (a Debian base);
 * buildLayerOnImage stacks one more such layer on a stored image — made from an overlayfs upper
 * directory, whose whiteouts become OCI whiteouts — and shares the image's layers as they are.
 */
import { pipeline } from 'node:stream';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { PutBlobResult, SnapshotStore } from '../image-store.js';
import { encodeTar, tarEntriesOfDir, tarStreamOfDir, type TreeOptions } from './layer-tar.js';
import { MEDIA_TYPE, ociArchitecture, parseImageConfig, parseManifest, type OciDescriptor } from './oci-image.js';

export interface SingleLayerImageSpec {
  reference: string;
  /** The image's file tree. Ownership and modes are taken as they are on disk. */
  rootfs: string;
  /** The config's `created`, and the latest mtime in the layer (later ones are clamped to it; layer-tar.ts). Whole seconds. */
  created: Date;
  /** The OCI config's `config` object: Entrypoint, Cmd, Env, WorkingDir, User. */
  config: ImageRuntimeConfig;
  /** One line for the image history: what made the layer. */
  createdBy: string;
}

export type ImageRuntimeConfig = { Entrypoint?: string[]; Cmd?: string[]; Env?: string[]; WorkingDir?: string; User?: string };

export interface LayerOnImageSpec extends Omit<SingleLayerImageSpec, 'rootfs'> {
  /** The manifest digest of the stored image the layer goes on. */
  baseDigest: string;
  /** An overlayfs upper directory over the base image's layers: what the new layer changes. */
  upperDir: string;
  /** Its opaque directories, relative to it (see layer-tar.ts). */
  opaqueDirs: ReadonlySet<string>;
}

/** The layers an image is stacked on, from its stored manifest and config; none for a first layer. */
interface BaseLayers {
  layers: OciDescriptor[];
  diffIds: string[];
  history: unknown[];
}

const NO_BASE: BaseLayers = { layers: [], diffIds: [], history: [] };

/** Stores and tags the image; returns its manifest digest. */
export async function buildSingleLayerImage(store: SnapshotStore, spec: SingleLayerImageSpec): Promise<string> {
  const created = wholeSeconds(spec.created);
  const layerTar = encodeTar(await tarEntriesOfDir(spec.rootfs, created));
  const layer = await store.putBlob(layerTar);
  const { diffId } = await store.addLayer(layer.digest, layer.digest); // uncompressed: diff_id = digest
  return storeImage(store, spec, created, NO_BASE, { ...layer, mediaType: MEDIA_TYPE.ociLayer }, diffId);
}

/** As buildSingleLayerImage, with the layer streamed from disk and stored gzip-compressed. */
export async function buildStreamedLayerImage(store: SnapshotStore, spec: SingleLayerImageSpec): Promise<string> {
  const created = wholeSeconds(spec.created);
  const { layer, diffId } = await storeGzipLayer(store, spec.rootfs, created, {});
  return storeImage(store, spec, created, NO_BASE, layer, diffId);
}

/** The base image's layers, then one gzip layer of what upperDir changes; stored and tagged. */
export async function buildLayerOnImage(store: SnapshotStore, spec: LayerOnImageSpec): Promise<string> {
  const created = wholeSeconds(spec.created);
  const base = await baseLayersOf(store, spec.baseDigest);
  const { layer, diffId } = await storeGzipLayer(store, spec.upperDir, created, { overlayUpper: { opaqueDirs: spec.opaqueDirs } });
  return storeImage(store, spec, created, base, layer, diffId);
}

async function storeGzipLayer(store: SnapshotStore, dir: string, created: Date, opts: TreeOptions): Promise<{ layer: PutBlobResult & { mediaType: string }; diffId: string }> {
  const gzip = pipeline(Readable.from(tarStreamOfDir(dir, created, opts)), createGzip(), () => {
    // Errors reach putBlob through the gzip stream, which pipeline destroys with them.
  });
  const layer = await store.putBlob(gzip);
  const { diffId } = await store.addLayer(layer.digest);
  return { layer: { ...layer, mediaType: MEDIA_TYPE.ociLayerGzip }, diffId };
}

async function baseLayersOf(store: SnapshotStore, manifestDigest: string): Promise<BaseLayers> {
  const manifest = parseManifest(await store.readBlob(manifestDigest), manifestDigest);
  const configJson = await store.readBlob(manifest.config.digest);
  const { rootfs } = parseImageConfig(configJson, manifest.config.digest);
  const { history } = JSON.parse(configJson.toString('utf8')) as { history?: unknown };
  return { layers: manifest.layers, diffIds: rootfs.diff_ids, history: Array.isArray(history) ? history : [] };
}

async function storeImage(
  store: SnapshotStore,
  spec: Omit<SingleLayerImageSpec, 'rootfs'>,
  created: Date,
  base: BaseLayers,
  layer: PutBlobResult & { mediaType: string },
  diffId: string,
): Promise<string> {
  const config = Buffer.from(JSON.stringify({
    created: created.toISOString(),
    architecture: ociArchitecture(),
    os: 'linux',
    config: spec.config,
    rootfs: { type: 'layers', diff_ids: [...base.diffIds, diffId] },
    history: [...base.history, { created: created.toISOString(), created_by: spec.createdBy }],
  }));
  const configBlob = await store.putBlob(config);

  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.ociManifest,
    config: { mediaType: MEDIA_TYPE.ociConfig, digest: configBlob.digest, size: configBlob.size },
    layers: [
      ...base.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
      { mediaType: layer.mediaType, digest: layer.digest, size: layer.size },
    ],
  }));
  const manifestBlob = await store.putBlob(manifest);

  await store.tagImage(spec.reference, manifestBlob.digest);
  return manifestBlob.digest;
}

function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

/**
 * Builds a single-layer OCI image from a directory tree and stores it exactly as a pull would: layer,
 * config and manifest blobs, the unpacked layer, then the ref. The layer tar is reproducible
 * (layer-tar.ts), so the same tree and `created` give the same manifest digest.
 */
import type { SnapshotStore } from '../image-store.js';
import { encodeTar, tarEntriesOfDir } from './layer-tar.js';
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
  const created = new Date(Math.floor(spec.created.getTime() / 1000) * 1000);
  const layerTar = encodeTar(await tarEntriesOfDir(spec.rootfs, created));
  const layer = await store.putBlob(layerTar);
  const { diffId } = await store.addLayer(layer.digest, layer.digest); // uncompressed: diff_id = digest

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
    layers: [{ mediaType: MEDIA_TYPE.ociLayer, digest: layer.digest, size: layer.size }],
  }));
  const manifestBlob = await store.putBlob(manifest);

  await store.tagImage(spec.reference, manifestBlob.digest);
  return manifestBlob.digest;
}

/**
 * Imports images from archives into the snapshot store, as `docker load` does:
 *
 * - a `docker save` tar: manifest.json lists each image's config file, layer tars and RepoTags
 *   (github.com/moby/moby image/spec/v1.2.md, "Combined Image JSON + Filesystem Changeset Format");
 * - an OCI image layout, as a directory or a tar (gzip-compressed or not): oci-layout, index.json,
 *   blobs/sha256/<hex> (image-spec image-layout.md). An index entry may itself be an image index, of
 *   which this platform's manifest is taken.
 *
 * Every blob is verified as a pull verifies it: an OCI blob against its digest, a layer against its
 * config's diff_id; a layer is unpacked by the same safe unpacker; the refs are written last. A
 * `docker save` archive has no manifest blob, so one is made (an OCI manifest of its config and layer
 * tars): the image's digest then differs from the registry's, as it does in Docker after a load.
 *
 * Names: a `docker save` image is tagged with its RepoTags; an OCI layout image with its
 * `io.containerd.image.name` annotation, or its `org.opencontainers.image.ref.name` when that is a
 * full reference. A ref.name that is only a tag (skopeo's `oci:DIR:TAG` writes those), or an image
 * without a name, needs opts.reference — which, when given, is the one name of the archive's only image.
 */
import { z } from 'zod';
import { formatReference, parseReference } from '../contract/image-reference.js';
import { ImageStoreError } from './image-store-error.js';
import type { PutBlobResult, SnapshotStore, StoredImage, UnpackBudget } from './image-store.js';
import { NoMatchingPlatform, selectPlatform } from './registry/platform.js';
import { defaultPlatform, type Platform } from './registry/registry-options.js';
import { archivePath, openArchive, type ArchiveSource } from './store/archive-source.js';
import { sha256Digest } from './store/digest.js';
import { ImageImportError } from './store/image-import-error.js';
import {
  isIndexMediaType,
  MEDIA_TYPE,
  parseImageConfig,
  parseIndex,
  parseManifest,
  type OciDescriptor,
  type OciIndexDescriptor,
} from './store/oci-image.js';

export { ImageImportError, type ImageImportErrorCode } from './store/image-import-error.js';

export interface ImportOptions {
  /** The name of the archive's only image (required when the archive does not name it fully). */
  reference?: string;
  /** The platform taken from a multi-platform image. Default: linux and this host's architecture. */
  platform?: Platform;
}

/** manifest.json, index.json, image configs and manifests: small documents. */
const DOCUMENT_LIMIT = 16 * 1024 * 1024;
const CONTAINERD_NAME = 'io.containerd.image.name';
const OCI_REF_NAME = 'org.opencontainers.image.ref.name';

const dockerManifestSchema = z.array(z.object({
  Config: z.string(),
  RepoTags: z.array(z.string()).nullish(),
  Layers: z.array(z.string()),
}).loose());

/** One image of an archive, ready to be tagged. */
interface ImportedImage {
  names: string[];
  manifestDigest: string;
  indexDigest?: string;
}

/**
 * Imports every image of a `docker save` tar, an OCI layout directory or an OCI layout tar; returns
 * them as stored, one per name. Throws ImageImportError for a malformed archive, ImageStoreError for
 * content that does not verify.
 */
export async function importImageArchive(store: SnapshotStore, path: string, opts: ImportOptions = {}): Promise<StoredImage[]> {
  return store.withGarbageCollectionPaused(async () => {
    const archive = await openArchive(store, path);
    try {
      const images = await archive.has('manifest.json') ? await importDockerArchive(store, archive, opts)
        : await archive.has('index.json') ? await importOciLayout(store, archive, opts)
        : undefined;
      if (images === undefined) {
        throw new ImageImportError('invalid_archive', `${archive.description} has neither manifest.json (docker save) nor index.json (OCI layout)`);
      }
      return await tagImages(store, images);
    } finally {
      await archive.close();
    }
  });
}

/** `docker save`: each manifest.json entry's config and layers; a manifest is made for it. */
async function importDockerArchive(store: SnapshotStore, archive: ArchiveSource, opts: ImportOptions): Promise<ImportedImage[]> {
  const entries = parseDocument(dockerManifestSchema, await archive.read('manifest.json', DOCUMENT_LIMIT), `${archive.description}: manifest.json`);
  checkSingleForReference(entries.length, opts, archive);
  const images: ImportedImage[] = [];
  for (const entry of entries) {
    const configBlob = await archive.putBlob(entry.Config, digestInName(entry.Config));
    const config = parseImageConfig(await store.readBlob(configBlob.digest), configBlob.digest);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== entry.Layers.length) {
      throw new ImageImportError('invalid_archive', `${archive.description}: ${entry.Config} lists ${diffIds.length} diff_ids but manifest.json ${entry.Layers.length} layers`);
    }
    const layers: OciDescriptor[] = [];
    const budget = store.unpackBudget();
    for (const [i, layerPath] of entry.Layers.entries()) {
      const blob = await addArchiveLayer(store, archive, { path: layerPath, digest: digestInName(layerPath), diffId: diffIds[i] as string }, budget, `layer ${i + 1} of ${entry.Layers.length} (${layerPath})`);
      // An uncompressed tar's digest is its diff_id; anything else was compressed (gzip, in practice).
      const mediaType = blob.digest === diffIds[i] ? MEDIA_TYPE.ociLayer : MEDIA_TYPE.ociLayerGzip;
      layers.push({ mediaType, digest: blob.digest, size: blob.size });
    }
    const manifest = await store.putBlob(Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE.ociManifest,
      config: { mediaType: MEDIA_TYPE.ociConfig, digest: configBlob.digest, size: configBlob.size },
      layers,
    })));
    images.push({ names: namesOf(opts, () => entry.RepoTags ?? [], `${archive.description}: image ${entry.Config}`), manifestDigest: manifest.digest });
  }
  return images;
}

/** OCI layout: each index.json entry, through a nested index to this platform's manifest. */
async function importOciLayout(store: SnapshotStore, archive: ArchiveSource, opts: ImportOptions): Promise<ImportedImage[]> {
  if (await archive.has('oci-layout')) {
    const layoutDoc = parseDocument(z.object({ imageLayoutVersion: z.string() }).loose(), await archive.read('oci-layout', DOCUMENT_LIMIT), `${archive.description}: oci-layout`);
    if (!layoutDoc.imageLayoutVersion.startsWith('1.')) {
      throw new ImageImportError('invalid_archive', `${archive.description}: image layout version ${layoutDoc.imageLayoutVersion} is not 1.x`);
    }
  }
  const index = parseIndex(await archive.read('index.json', DOCUMENT_LIMIT), 'index.json');
  checkSingleForReference(new Set(index.manifests.map((m) => m.digest)).size, opts, archive);
  const platform = opts.platform ?? defaultPlatform();
  const images: ImportedImage[] = [];
  for (const entry of index.manifests) {
    let manifestDesc: OciIndexDescriptor = entry;
    let indexDigest: string | undefined;
    if (isIndexMediaType(entry.mediaType)) {
      const nested = parseIndex(await readVerified(archive, entry.digest), entry.digest);
      try {
        manifestDesc = selectPlatform(nested, platform);
      } catch (err) {
        if (err instanceof NoMatchingPlatform) throw new ImageImportError('platform_not_found', `${archive.description}: ${err.message}`, { cause: err });
        throw err;
      }
      indexDigest = entry.digest;
      await store.putBlob(await readVerified(archive, entry.digest), entry.digest);
    }
    const manifestBytes = await readVerified(archive, manifestDesc.digest);
    const manifest = parseManifest(manifestBytes, manifestDesc.digest);
    await archive.putBlob(blobPath(manifest.config.digest), manifest.config.digest);
    const config = parseImageConfig(await store.readBlob(manifest.config.digest), manifest.config.digest);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw new ImageImportError('invalid_archive', `${archive.description}: manifest ${manifestDesc.digest} has ${manifest.layers.length} layers but its config lists ${config.rootfs.diff_ids.length} diff_ids`);
    }
    const budget = store.unpackBudget();
    for (const [i, layer] of manifest.layers.entries()) {
      const place = `layer ${i + 1} of ${manifest.layers.length} (${layer.digest})`;
      await addArchiveLayer(store, archive, { path: blobPath(layer.digest), digest: layer.digest, diffId: config.rootfs.diff_ids[i] as string }, budget, place);
    }
    await store.putBlob(manifestBytes, manifestDesc.digest);
    const annotations = entry.annotations ?? {};
    const image: ImportedImage = {
      names: namesOf(opts, () => ociNames(annotations, `${archive.description}: image ${entry.digest}`), `${archive.description}: image ${entry.digest}`),
      manifestDigest: manifestDesc.digest,
    };
    if (indexDigest !== undefined) image.indexDigest = indexDigest;
    images.push(image);
  }
  return images;
}

/**
 * Stores one layer of an image: its blob verified, then unpacked within the image's budget. What is
 * wrong with it is said with its place in the image ('layer 2 of 3 (…)'), in the store's own code.
 */
async function addArchiveLayer(
  store: SnapshotStore,
  archive: ArchiveSource,
  layer: { path: string; digest: string | undefined; diffId: string },
  budget: UnpackBudget,
  place: string,
): Promise<PutBlobResult> {
  try {
    const blob = await archive.putBlob(layer.path, layer.digest);
    await store.addLayer(blob.digest, layer.diffId, budget);
    return blob;
  } catch (err) {
    if (!(err instanceof ImageStoreError)) throw err;
    throw new ImageStoreError(err.code, `${place}: ${err.message}`, { cause: err, ...(err.field !== undefined && { field: err.field }) });
  }
}

/** Writes the refs, last, once every image is known to run; returns the images as stored. */
async function tagImages(store: SnapshotStore, images: ImportedImage[]): Promise<StoredImage[]> {
  for (const image of images) await store.checkRunnable(image.manifestDigest);
  const stored: StoredImage[] = [];
  for (const image of images) {
    for (const name of image.names) {
      await store.tagImage(name, image.manifestDigest, image.indexDigest !== undefined ? { indexDigest: image.indexDigest } : {});
      const resolved = await store.resolve(name);
      if (!resolved) throw new Error(`${name} was tagged but does not resolve`);
      stored.push(resolved);
    }
  }
  return stored;
}

function checkSingleForReference(count: number, opts: ImportOptions, archive: ArchiveSource): void {
  if (opts.reference !== undefined && count !== 1) {
    throw new ImageImportError('reference_required', `${archive.description} holds ${count} images; a reference can name only one (import without it to use the archive's own names)`);
  }
}

/** opts.reference, or the archive's names, normalized; none at all is an error. */
function namesOf(opts: ImportOptions, archiveNames: () => string[], what: string): string[] {
  const names = opts.reference !== undefined ? [opts.reference] : archiveNames();
  if (names.length === 0) throw new ImageImportError('reference_required', `${what} has no name in the archive: pass a reference`);
  return [...new Set(names.map((n) => formatReference(parseReference(n))))];
}

/** An OCI layout entry's full names: containerd's annotation, or a ref.name that is a reference. */
function ociNames(annotations: Record<string, string>, what: string): string[] {
  const full = annotations[CONTAINERD_NAME];
  if (full !== undefined) return [full];
  const refName = annotations[OCI_REF_NAME];
  if (refName === undefined) return [];
  if (/[/:@]/.test(refName)) return [refName];
  throw new ImageImportError('reference_required', `${what} is named only by the tag ${JSON.stringify(refName)}: pass a reference (e.g. "myimage:${refName}")`);
}

/** 'blobs/sha256/<hex>' or '<hex>.json' (docker save's config) → 'sha256:<hex>', to verify against. */
function digestInName(path: string): string | undefined {
  const m = /(?:^|\/)(?:blobs\/sha256\/)?([a-f0-9]{64})(?:\.json)?$/.exec(archivePath(path));
  return m?.[1] !== undefined ? `sha256:${m[1]}` : undefined;
}

function blobPath(digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return `blobs/${algorithm}/${hex}`;
}

/** A small blob of the layout, read and checked against its digest. */
async function readVerified(archive: ArchiveSource, digest: string): Promise<Buffer> {
  const body = await archive.read(blobPath(digest), DOCUMENT_LIMIT);
  const actual = sha256Digest(body);
  if (actual !== digest) throw new ImageStoreError('digest_mismatch', `${archive.description}: ${blobPath(digest)} has digest ${actual}, not ${digest}`);
  return body;
}

function parseDocument<T>(schema: z.ZodType<T>, body: Buffer, what: string): T {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new ImageImportError('invalid_archive', `${what} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = schema.safeParse(doc);
  if (!parsed.success) throw new ImageImportError('invalid_archive', `${what} is malformed: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/**
 * The OCI image JSON documents the store keeps as blobs: manifest and image config
 * (github.com/opencontainers/image-spec: manifest.md, config.md). Docker's schema 2 manifest has the
 * same shape and is accepted too, so that a registry pull can store what the registry serves as is.
 */
import { z } from 'zod';
import type { ImageConfig } from '../../contract/stored-image.js';
import { ImageStoreError } from '../image-store-error.js';
import { MAX_IMAGE_LAYERS } from '../../contract/limits.js';

export const MEDIA_TYPE = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerManifestV1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerManifestV1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** Layer media types whose blobs are a tar, as is or gzip/zstd-compressed (layer-stream.ts reads them). */
export const LAYER_MEDIA_TYPES: readonly string[] = [
  MEDIA_TYPE.ociLayer,
  MEDIA_TYPE.ociLayerGzip,
  MEDIA_TYPE.ociLayerZstd,
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar',
  MEDIA_TYPE.dockerLayerGzip,
  MEDIA_TYPE.dockerLayerForeignGzip,
];

/** Config media types of runnable images (an artifact's config, a Helm chart's say, is none of them). */
export const CONFIG_MEDIA_TYPES: readonly string[] = [MEDIA_TYPE.ociConfig, MEDIA_TYPE.dockerConfig];

const IMAGE_MANIFEST_TYPES: readonly string[] = [MEDIA_TYPE.ociManifest, MEDIA_TYPE.dockerManifest];
const INDEX_TYPES: readonly string[] = [MEDIA_TYPE.ociIndex, MEDIA_TYPE.dockerManifestList];

const digestSchema = z.string().regex(/^sha256:[a-f0-9]{64}$/, 'must be sha256:<64 lowercase hex>');

const descriptorSchema = z.object({
  mediaType: z.string(),
  digest: digestSchema,
  size: z.number().int().nonnegative(),
});
export type OciDescriptor = z.infer<typeof descriptorSchema>;

const manifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type OciManifest = z.infer<typeof manifestSchema>;

const platformSchema = z.object({
  os: z.string(),
  architecture: z.string(),
  variant: z.string().optional(),
  'os.version': z.string().optional(),
  'os.features': z.array(z.string()).optional(),
});
export type OciPlatform = z.infer<typeof platformSchema>;

const indexDescriptorSchema = descriptorSchema.extend({
  platform: platformSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type OciIndexDescriptor = z.infer<typeof indexDescriptorSchema>;

const indexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(indexDescriptorSchema),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type OciIndex = z.infer<typeof indexSchema>;

const stringList = z.array(z.string()).nullish();
const imageConfigSchema = z.object({
  created: z.string().optional(),
  architecture: z.string().optional(),
  os: z.string().optional(),
  config: z
    .object({
      Entrypoint: stringList,
      Cmd: stringList,
      Env: stringList,
      WorkingDir: z.string().nullish(),
      User: z.string().nullish(),
    })
    .nullish(),
  rootfs: z.object({ type: z.literal('layers'), diff_ids: z.array(digestSchema) }),
});
export type OciImageConfig = z.infer<typeof imageConfigSchema>;

export function parseManifest(json: Buffer, digest: string): OciManifest {
  const doc = parseJson(json, 'invalid_manifest', `manifest ${digest}`);
  const mediaType = (doc as { mediaType?: unknown } | null)?.mediaType;
  if (typeof mediaType === 'string' && INDEX_TYPES.includes(mediaType)) {
    throw new ImageStoreError('invalid_manifest', `manifest ${digest} is an image index (${mediaType}); store the manifest of one platform instead`);
  }
  const parsed = manifestSchema.safeParse(doc);
  if (!parsed.success) {
    throw new ImageStoreError('invalid_manifest', `manifest ${digest} is not an image manifest: ${z.prettifyError(parsed.error)}`);
  }
  if (parsed.data.mediaType !== undefined && !IMAGE_MANIFEST_TYPES.includes(parsed.data.mediaType)) {
    throw new ImageStoreError('invalid_manifest', `manifest ${digest} has unsupported mediaType ${parsed.data.mediaType}`);
  }
  checkLayerCount(parsed.data.layers.length, `manifest ${digest}`);
  return parsed.data;
}

/** True when a manifest document (by its Content-Type or its own mediaType) is an index / manifest list. */
export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && INDEX_TYPES.includes(mediaType);
}

export function isImageManifestMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && IMAGE_MANIFEST_TYPES.includes(mediaType);
}

/** An OCI image index or Docker manifest list (image-spec image-index.md). */
export function parseIndex(json: Buffer, digest: string): OciIndex {
  const parsed = indexSchema.safeParse(parseJson(json, 'invalid_manifest', `image index ${digest}`));
  if (!parsed.success) {
    throw new ImageStoreError('invalid_manifest', `image index ${digest} is invalid: ${z.prettifyError(parsed.error)}`);
  }
  if (parsed.data.mediaType !== undefined && !INDEX_TYPES.includes(parsed.data.mediaType)) {
    throw new ImageStoreError('invalid_manifest', `image index ${digest} has unsupported mediaType ${parsed.data.mediaType}`);
  }
  return parsed.data;
}

/** The mediaType a manifest document declares in its body, if any (schema 1 has none: schemaVersion 1). */
export function declaredMediaType(json: Buffer): { mediaType?: string; schemaVersion?: number } {
  try {
    const doc = JSON.parse(json.toString('utf8')) as { mediaType?: unknown; schemaVersion?: unknown } | null;
    const out: { mediaType?: string; schemaVersion?: number } = {};
    if (typeof doc?.mediaType === 'string') out.mediaType = doc.mediaType;
    if (typeof doc?.schemaVersion === 'number') out.schemaVersion = doc.schemaVersion;
    return out;
  } catch {
    return {};
  }
}

export function parseImageConfig(json: Buffer, digest: string): OciImageConfig {
  const parsed = imageConfigSchema.safeParse(parseJson(json, 'invalid_config', `image config ${digest}`));
  if (!parsed.success) {
    throw new ImageStoreError('invalid_config', `image config ${digest} is invalid: ${z.prettifyError(parsed.error)}`);
  }
  checkLayerCount(parsed.data.rootfs.diff_ids.length, `image config ${digest}`);
  return parsed.data;
}

/** The runtime's view of the config: Docker's nulls and omissions become [] and ''. */
export function runtimeConfigOf(config: OciImageConfig): ImageConfig {
  const c = config.config;
  return {
    entrypoint: c?.Entrypoint ?? [],
    cmd: c?.Cmd ?? [],
    env: c?.Env ?? [],
    workingDir: c?.WorkingDir ?? '',
    user: c?.User ?? '',
  };
}

/**
 * Refuses an image a sandbox cannot stack, as soon as its manifest or config is read: before a
 * pull downloads a layer, before an import unpacks one.
 */
function checkLayerCount(layers: number, what: string): void {
  if (layers > MAX_IMAGE_LAYERS) {
    throw new ImageStoreError('too_many_layers', `${what} has ${layers} layers; warmbox runs images of at most ${MAX_IMAGE_LAYERS} layers: squash the image or build it with fewer`);
  }
}

/** The GOARCH name OCI uses for this machine ('amd64', 'arm64'). */
export function ociArchitecture(arch: string = process.arch): string {
  const names: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm' };
  return names[arch] ?? arch;
}

function parseJson(json: Buffer, code: 'invalid_manifest' | 'invalid_config', what: string): unknown {
  try {
    return JSON.parse(json.toString('utf8'));
  } catch (err) {
    throw new ImageStoreError(code, `${what} is not JSON: ${(err as Error).message}`, { cause: err });
  }
}

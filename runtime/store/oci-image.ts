/**
 * The OCI image JSON documents the store keeps as blobs: manifest and image config
 * (github.com/opencontainers/image-spec: manifest.md, config.md). Docker's schema 2 manifest has the
 * same shape and is accepted too, so that a registry pull can store what the registry serves as is.
 */
import { z } from 'zod';
import { ImageStoreError } from '../image-store-error.js';

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
} as const;

const IMAGE_MANIFEST_TYPES: readonly string[] = [MEDIA_TYPE.ociManifest, MEDIA_TYPE.dockerManifest];
const INDEX_TYPES: readonly string[] = [MEDIA_TYPE.ociIndex, MEDIA_TYPE.dockerManifestList];

/** What a sandbox needs from the image config's `config` object; missing fields are [] or ''. */
export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir: string;
  user: string;
}

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
  return parsed.data;
}

export function parseImageConfig(json: Buffer, digest: string): OciImageConfig {
  const parsed = imageConfigSchema.safeParse(parseJson(json, 'invalid_config', `image config ${digest}`));
  if (!parsed.success) {
    throw new ImageStoreError('invalid_config', `image config ${digest} is invalid: ${z.prettifyError(parsed.error)}`);
  }
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

/**
 * Configuration of image operations from environment variables, checked once at start with
 * messages that name the variable; part of the server configuration (server/config.ts).
 *
 * | variable                      | default    | meaning                                                          |
 * |-------------------------------|------------|------------------------------------------------------------------|
 * | WARMBOX_REGISTRY_DEFAULT      | docker.io  | the registry of references that name none (`busybox`): another   |
 * |                               |            | host serving Docker Hub's names, e.g. an internal registry when  |
 * |                               |            | there is no Internet; images keep their docker.io names          |
 * | WARMBOX_REGISTRY_MIRRORS      | —          | `REGISTRY=URL[,REGISTRY=URL...]`, tried in order before the       |
 * |                               |            | registry: `docker.io=http://10.0.0.5:5000` (repeat for several)  |
 * | WARMBOX_REGISTRY_INSECURE     | —          | `HOST[:PORT][,...]` spoken to over plain http (loopback always is)|
 * | WARMBOX_REGISTRY_AUTH_FILE    | —          | a Docker config.json with `auths`, read at every pull            |
 * | WARMBOX_PULL_TIMEOUT_MS       | 300 000    | how long POST /v1/jobs waits for a pull on first use (then 503)  |
 * | WARMBOX_IMPORT_MAX_BYTES      | 8 GiB      | largest archive POST /v1/images/import accepts (413 above)       |
 * | WARMBOX_GC_MIN_AGE_MS         | 0          | content younger than this survives a collection: set it (e.g.   |
 * |                               |            | 600000) when several worker processes share one data directory  |
 * | WARMBOX_IMAGE_MAX_UNPACKED_BYTES | 16 GiB  | bytes one image's layers may unpack to, all layers together     |
 * |                               |            | (their uncompressed tars; at most 1 TiB); checked while unpacking|
 * | WARMBOX_IMAGE_MAX_ENTRIES     | 2 000 000  | files, directories, links… in one image's layers (at most 50 M)  |
 */
import { UNPACK_BOUNDS_DEFAULT, UNPACK_BOUNDS_MAXIMUM, type UnpackBounds } from '../contract/limits.js';
import type { RegistryOptions } from '../images/image-pull.js';

export interface ImageOpsConfig {
  registry: RegistryOptions;
  pullTimeoutMs: number;
  importMaxBytes: number;
  gcMinAgeMs: number;
  /** What one image may unpack to (images/store/unpack-budget.ts): pulls, imports and builds. */
  unpackBounds: UnpackBounds;
}

export const IMAGE_CONFIG_DEFAULTS = {
  pullTimeoutMs: 300_000,
  importMaxBytes: 8 * 1024 ** 3,
  gcMinAgeMs: 0,
} as const;

export class ImageConfigError extends Error {
  override name = 'ImageConfigError';
}

export function imageOpsConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ImageOpsConfig {
  const problems: string[] = [];
  const registry: RegistryOptions = {};
  const mirrors = parseMirrors(env.WARMBOX_REGISTRY_MIRRORS, problems);
  if (mirrors !== undefined) registry.mirrors = mirrors;
  const insecure = listOf(env.WARMBOX_REGISTRY_INSECURE);
  if (insecure.length > 0) registry.insecure = insecure;
  const defaultRegistry = env.WARMBOX_REGISTRY_DEFAULT?.trim();
  if (defaultRegistry) {
    if (!/^[a-zA-Z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/.test(defaultRegistry)) {
      problems.push(`WARMBOX_REGISTRY_DEFAULT=${JSON.stringify(defaultRegistry)}: expected HOST[:PORT], e.g. registry.internal:5000`);
    }
    registry.defaultRegistry = defaultRegistry;
  }
  const authFile = env.WARMBOX_REGISTRY_AUTH_FILE?.trim();
  if (authFile) {
    if (!authFile.startsWith('/')) problems.push(`WARMBOX_REGISTRY_AUTH_FILE=${JSON.stringify(authFile)}: expected an absolute path to a Docker config.json`);
    registry.credentialsFile = authFile;
  }
  const config: ImageOpsConfig = {
    registry,
    pullTimeoutMs: intVar(env, 'WARMBOX_PULL_TIMEOUT_MS', IMAGE_CONFIG_DEFAULTS.pullTimeoutMs, 1, 3_600_000, problems),
    importMaxBytes: intVar(env, 'WARMBOX_IMPORT_MAX_BYTES', IMAGE_CONFIG_DEFAULTS.importMaxBytes, 1, Number.MAX_SAFE_INTEGER, problems),
    gcMinAgeMs: intVar(env, 'WARMBOX_GC_MIN_AGE_MS', IMAGE_CONFIG_DEFAULTS.gcMinAgeMs, 0, 30 * 24 * 3_600_000, problems),
    unpackBounds: {
      maxUnpackedBytes: intVar(env, 'WARMBOX_IMAGE_MAX_UNPACKED_BYTES', UNPACK_BOUNDS_DEFAULT.maxUnpackedBytes, 1, UNPACK_BOUNDS_MAXIMUM.maxUnpackedBytes, problems),
      maxEntries: intVar(env, 'WARMBOX_IMAGE_MAX_ENTRIES', UNPACK_BOUNDS_DEFAULT.maxEntries, 1, UNPACK_BOUNDS_MAXIMUM.maxEntries, problems),
    },
  };
  if (problems.length > 0) throw new ImageConfigError(`invalid configuration: ${problems.join('; ')}`);
  return config;
}

/** `docker.io=http://a:5000,docker.io=http://b:5000,ghcr.io=https://m.example` → registry → URLs, in order. */
export function parseMirrors(text: string | undefined, problems: string[]): Record<string, string[]> | undefined {
  const items = listOf(text);
  if (items.length === 0) return undefined;
  const mirrors: Record<string, string[]> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const registry = item.slice(0, eq).trim().toLowerCase();
    const url = item.slice(eq + 1).trim();
    if (eq <= 0 || !/^https?:\/\/[^\s]+$/.test(url) || !URL.canParse(url)) {
      problems.push(`WARMBOX_REGISTRY_MIRRORS: ${JSON.stringify(item)} is not REGISTRY=http(s)://HOST[:PORT][/PATH], e.g. docker.io=http://10.0.0.5:5000`);
      continue;
    }
    (mirrors[registry === 'index.docker.io' ? 'docker.io' : registry] ??= []).push(url);
  }
  return mirrors;
}

function listOf(text: string | undefined): string[] {
  return (text ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function intVar(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number, problems: string[]): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    problems.push(`${name}=${JSON.stringify(raw)}: expected a whole number from ${min} to ${max}`);
    return fallback;
  }
  return n;
}

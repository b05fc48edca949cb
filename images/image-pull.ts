/**
 * Pulls images from OCI distribution registries (Docker Hub, GHCR, a private registry; anonymous,
 * bearer-token and basic auth) into the snapshot store, the way `docker pull` does:
 *
 *   1. resolve the reference to a manifest: by tag or digest, through an index to this platform's
 *   2. check that warmbox can run it: a container image, with layers it can read
 *   3. fetch the config blob, verified against its digest; its diff_ids must match the layers
 *   4. fetch the layers (three at a time), each streamed into the store's staging while hashed and
 *      admitted only when its sha256 is the manifest's digest, then unpacked and checked against its
 *      diff_id
 *   5. store the manifest, check that a job can start in the image (its WorkingDir), and only then
 *      write the ref
 *
 * A crash or an error at any step leaves no ref, so no half image: what was stored before it is
 * content-addressed and either reused by the next pull or removed by the next collectGarbage.
 * Concurrent pulls of one reference share one pull; concurrent pulls of images with a common layer
 * share its download. The registry protocol itself is in registry/.
 */
import { formatReference, parseReference, type ImageReference } from '../contract/image-reference.js';
import type { PullProgress } from '../contract/pull-progress.js';
import { ImageStoreError, type SnapshotStore, type StoredImage, type UnpackBudget } from './image-store.js';
import { CredentialStore } from './registry/credentials.js';
import type { ImageStoreErrorCode } from './image-store-error.js';
import { ImagePullError, type ImagePullErrorCode } from './registry/image-pull-error.js';
import { formatPlatform, NoMatchingPlatform, selectPlatform } from './registry/platform.js';
import { RegistryAuth } from './registry/registry-auth.js';
import { RegistryClient, type FetchedManifest } from './registry/registry-client.js';
import { readBodyLimited } from './registry/registry-http.js';
import { defaultPlatform, endpointsFor, type Platform, type RegistryOptions } from './registry/registry-options.js';
import { SingleFlight } from './registry/single-flight.js';
import {
  CONFIG_MEDIA_TYPES,
  declaredMediaType,
  isImageManifestMediaType,
  isIndexMediaType,
  LAYER_MEDIA_TYPES,
  MEDIA_TYPE,
  parseImageConfig,
  parseIndex,
  parseManifest,
  type OciDescriptor,
  type OciImageConfig,
  type OciManifest,
} from './store/oci-image.js';

export { ImagePullError, type ImagePullErrorCode } from './registry/image-pull-error.js';
export type { Platform, RegistryOptions } from './registry/registry-options.js';

export type { PullProgress } from '../contract/pull-progress.js';

/** Docker's default max-concurrent-downloads. */
const MAX_CONCURRENT_LAYERS = 3;
/** Tries per blob when the connection fails or the registry answers 5xx. */
const BLOB_ATTEMPTS = 3;
const RETRY_DELAY_MS = 500;
/** Image configs are a few KB; BuildKit's history can make them a few hundred. */
const CONFIG_SIZE_LIMIT = 16 * 1024 * 1024;
const PROGRESS_INTERVAL_MS = 100;

/** What step 1 found: the image manifest, and the index it was chosen from when there was one. */
interface ResolvedManifest {
  manifest: OciManifest;
  fetched: FetchedManifest;
  index?: FetchedManifest;
}

export class ImagePuller {
  readonly #store: SnapshotStore;
  readonly #opts: RegistryOptions;
  readonly #platform: Platform;
  readonly #pulls = new SingleFlight<StoredImage, PullProgress>((p) => p.layer);
  readonly #downloads = new SingleFlight<void, PullProgress>((p) => p.layer);

  constructor(store: SnapshotStore, opts: RegistryOptions = {}) {
    this.#store = store;
    this.#opts = opts;
    this.#platform = opts.platform ?? defaultPlatform();
    if (this.#platform.os === '' || this.#platform.architecture === '') {
      throw new ImagePullError('invalid_options', `platform ${JSON.stringify(this.#platform)} needs an os and an architecture`);
    }
  }

  /**
   * Resolves, downloads (verifying every blob's sha256 before it is admitted), unpacks and tags;
   * concurrent pulls of one reference share one download. Rejects with an ImagePullError, an
   * InvalidReferenceError for a malformed reference, or the signal's reason when aborted.
   */
  pull(reference: string, onProgress?: (p: PullProgress) => void, signal?: AbortSignal): Promise<StoredImage> {
    let ref: ImageReference;
    try {
      ref = parseReference(reference);
    } catch (err) {
      return Promise.reject(err);
    }
    const name = formatReference(ref);
    return this.#pulls.run(name, (sig, emit) => this.#pull(ref, name, emit, sig), { signal, onEvent: onProgress });
  }

  #pull(ref: ImageReference, name: string, emit: (p: PullProgress) => void, signal: AbortSignal): Promise<StoredImage> {
    return this.#store.withGarbageCollectionPaused(async () => {
      try {
        const client = await this.#clientFor(ref);
        const resolved = await this.#resolveManifest(client, ref, signal);
        checkRunnable(resolved.manifest, resolved.fetched.digest);
        const config = await this.#fetchConfig(client, resolved.manifest, signal);
        const budget = this.#store.unpackBudget();
        await this.#fetchLayers(client, resolved.manifest.layers, config.rootfs.diff_ids, budget, emit, signal);
        await this.#storeManifests(resolved, ref);
        await this.#store.checkRunnable(resolved.fetched.digest);
        await this.#store.tagImage(name, resolved.fetched.digest, resolved.index ? { indexDigest: resolved.index.digest } : {});
        const image = await this.#store.resolve(name);
        if (!image) throw new Error(`${name} was tagged but does not resolve`);
        return image;
      } catch (err) {
        throw asPullError(err, name, signal);
      }
    });
  }

  async #clientFor(ref: ImageReference): Promise<RegistryClient> {
    const credentials = await CredentialStore.load(this.#opts.credentialsFile);
    return new RegistryClient(ref.registry, ref.repository, endpointsFor(ref.registry, this.#opts), new RegistryAuth(credentials));
  }

  /** Step 1: the manifest for this platform, digest-verified by the client. */
  async #resolveManifest(client: RegistryClient, ref: ImageReference, signal: AbortSignal): Promise<ResolvedManifest> {
    if (ref.digest !== undefined && !ref.digest.startsWith('sha256:')) {
      throw new ImagePullError('manifest_unsupported', `digest ${ref.digest}: warmbox stores sha256 content only`);
    }
    const first = await client.getManifest(ref.digest ?? ref.tag ?? 'latest', signal);
    if (kindOf(first) !== 'index') return { manifest: parseImageManifest(first), fetched: first };

    const index = parseIndex(first.body, first.digest);
    const chosen = selectPlatform(index, this.#platform);
    const fetched = await client.getManifest(chosen.digest, signal);
    if (kindOf(fetched) === 'index') {
      throw new ImagePullError('manifest_unsupported', `index ${first.digest} points ${formatPlatform(this.#platform)} at another index (${chosen.digest}); nested indexes are not supported`);
    }
    return { manifest: parseImageManifest(fetched), fetched, index: first };
  }

  /** Step 3: the config blob, stored verified; its diff_ids are what the layers must unpack to. */
  async #fetchConfig(client: RegistryClient, manifest: OciManifest, signal: AbortSignal): Promise<OciImageConfig> {
    const desc = manifest.config;
    if (desc.size > CONFIG_SIZE_LIMIT) {
      throw new ImagePullError('manifest_unsupported', `config ${desc.digest} is ${desc.size} bytes, over the ${CONFIG_SIZE_LIMIT}-byte limit`);
    }
    if (!(await this.#store.hasBlob(desc.digest))) {
      const { response } = await client.getBlob(desc.digest, signal);
      const body = await readBodyLimited(response, CONFIG_SIZE_LIMIT);
      if (body.length !== desc.size) {
        throw new ImagePullError('digest_mismatch', `config ${desc.digest}: ${body.length} bytes, not the ${desc.size} the manifest says`);
      }
      await this.#store.putBlob(body, desc.digest);
    }
    const config = parseImageConfig(await this.#store.readBlob(desc.digest), desc.digest);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw new ImagePullError('invalid_manifest', `the manifest has ${manifest.layers.length} layers but config ${desc.digest} lists ${config.rootfs.diff_ids.length} diff_ids`);
    }
    const wanted = this.#platform;
    if ((config.os !== undefined && config.os !== wanted.os) || (config.architecture !== undefined && config.architecture !== wanted.architecture)) {
      throw new ImagePullError('platform_not_found', `the image is for ${config.os ?? '?'}/${config.architecture ?? '?'}, not ${formatPlatform(wanted)} (set RegistryOptions.platform to pull it anyway)`);
    }
    return config;
  }

  /** Step 4: every layer downloaded, verified and unpacked; a few at a time. */
  async #fetchLayers(
    client: RegistryClient,
    layers: OciDescriptor[],
    diffIds: string[],
    budget: UnpackBudget,
    emit: (p: PullProgress) => void,
    signal: AbortSignal,
  ): Promise<void> {
    for (const layer of layers) emit({ layer: layer.digest, status: 'waiting', doneBytes: 0, totalBytes: layer.size });
    await forEachLimited(layers, MAX_CONCURRENT_LAYERS, async (layer, i) => {
      const progress = (status: PullProgress['status'], doneBytes: number): void => emit({ layer: layer.digest, status, doneBytes, totalBytes: layer.size });
      if (await this.#store.hasBlob(layer.digest)) {
        progress('exists', layer.size);
      } else {
        await this.#downloads.run(layer.digest, (sig, emitDownload) => this.#download(client, layer, emitDownload, sig), { signal, onEvent: emit });
        progress('extracting', layer.size);
      }
      await this.#store.addLayer(layer.digest, diffIds[i], budget);
      progress('done', layer.size);
    }, signal);
  }

  /** One blob into the store, retried when the connection fails; putBlob admits it only if it verifies. */
  async #download(client: RegistryClient, layer: OciDescriptor, emit: (p: PullProgress) => void, signal: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const { response, contentLength, endpoint } = await client.getBlob(layer.digest, signal);
        if (contentLength !== undefined && contentLength !== layer.size) {
          await response.body?.cancel();
          throw new ImagePullError('digest_mismatch', `layer ${layer.digest} from ${endpoint.url}: ${contentLength} bytes, not the ${layer.size} the manifest says`);
        }
        if (!response.body) throw new ImagePullError('registry_error', `layer ${layer.digest} from ${endpoint.url}: empty answer`);
        const body = countBytes(response.body, layer, (done, finished) => {
          emit({ layer: layer.digest, status: finished ? 'verifying' : 'downloading', doneBytes: done, totalBytes: layer.size });
        });
        await this.#store.putBlob(body, layer.digest);
        return;
      } catch (err) {
        if (signal.aborted || attempt >= BLOB_ATTEMPTS || !isTransient(err)) throw err;
        await delay(RETRY_DELAY_MS * attempt, signal);
      }
    }
  }

  /** Step 5: the manifest blob (and the index, when the reference pins the index's digest). */
  async #storeManifests(resolved: ResolvedManifest, ref: ImageReference): Promise<void> {
    if (resolved.index && ref.digest === resolved.index.digest) await this.#store.putBlob(resolved.index.body, resolved.index.digest);
    await this.#store.putBlob(resolved.fetched.body, resolved.fetched.digest);
  }
}

type ManifestKind = 'index' | 'manifest' | 'schema1' | 'unknown';

/** What a manifest document is, by its own mediaType (covered by its digest), else the Content-Type. */
function kindOf(fetched: FetchedManifest): ManifestKind {
  const declared = declaredMediaType(fetched.body);
  if (declared.schemaVersion === 1) return 'schema1';
  const type = declared.mediaType ?? fetched.contentType;
  if (isIndexMediaType(type)) return 'index';
  if (isImageManifestMediaType(type)) return 'manifest';
  if (type === MEDIA_TYPE.dockerManifestV1 || type === MEDIA_TYPE.dockerManifestV1Signed) return 'schema1';
  // An OCI manifest may omit mediaType, and a registry may send a generic Content-Type.
  try {
    const doc = JSON.parse(fetched.body.toString('utf8')) as { manifests?: unknown; config?: unknown };
    if (Array.isArray(doc.manifests)) return 'index';
    if (doc.config !== undefined) return 'manifest';
  } catch {
    // Not JSON: parseImageManifest says so.
  }
  return declared.mediaType === undefined && fetched.contentType === undefined ? 'manifest' : 'unknown';
}

function parseImageManifest(fetched: FetchedManifest): OciManifest {
  const kind = kindOf(fetched);
  if (kind === 'schema1') {
    throw new ImagePullError('manifest_unsupported', `manifest ${fetched.digest} is Docker schema 1, which registries have deprecated: push the image again with a current client`);
  }
  if (kind === 'unknown') {
    const type = declaredMediaType(fetched.body).mediaType ?? fetched.contentType;
    throw new ImagePullError('manifest_unsupported', `manifest ${fetched.digest} has media type ${type ?? '(none)'}, which is not an image manifest`);
  }
  return parseManifest(fetched.body, fetched.digest);
}

/** Step 2: a container image, with layer tars (uncompressed, gzip or zstd). */
function checkRunnable(manifest: OciManifest, digest: string): void {
  if (!CONFIG_MEDIA_TYPES.includes(manifest.config.mediaType)) {
    throw new ImagePullError('manifest_unsupported', `manifest ${digest} is an artifact with config type ${manifest.config.mediaType}, not a container image`);
  }
  for (const layer of manifest.layers) {
    if (!LAYER_MEDIA_TYPES.includes(layer.mediaType)) {
      throw new ImagePullError('manifest_unsupported', `layer ${layer.digest} has media type ${layer.mediaType}, which is not a layer tar`);
    }
  }
}


/**
 * The body as it streams, counted: more bytes than the manifest's size is a lie (stop at once);
 * fewer is a connection that ended early (a transient failure, retried).
 */
async function* countBytes(
  body: AsyncIterable<Uint8Array>,
  layer: OciDescriptor,
  report: (doneBytes: number, finished: boolean) => void,
): AsyncGenerator<Uint8Array> {
  let done = 0;
  let lastReport = 0;
  report(0, false);
  for await (const chunk of body) {
    done += chunk.length;
    if (done > layer.size) {
      throw new ImagePullError('digest_mismatch', `layer ${layer.digest}: the registry sent more than the ${layer.size} bytes the manifest says`);
    }
    const now = Date.now();
    if (now - lastReport >= PROGRESS_INTERVAL_MS) {
      lastReport = now;
      report(done, false);
    }
    yield chunk;
  }
  if (done < layer.size) {
    throw new ImagePullError('registry_unreachable', `layer ${layer.digest}: the download ended after ${done} of ${layer.size} bytes`);
  }
  report(done, true);
}

function isTransient(err: unknown): boolean {
  if (err instanceof ImagePullError) {
    return err.code === 'registry_unreachable' || (err.code === 'registry_error' && (err.status === undefined || err.status >= 500));
  }
  if (err instanceof ImageStoreError) return false;
  // A body that breaks off mid-stream surfaces as undici's TypeError('terminated') or a socket error.
  const code = (err as NodeJS.ErrnoException).code ?? (err as { cause?: { code?: string } }).cause?.code;
  return err instanceof TypeError || (typeof code === 'string' && /^(ECONNRESET|EPIPE|ETIMEDOUT|UND_ERR_)/.test(code));
}

/** What the store says about the content of a pull, passed on with the store's own code. */
const STORE_CODES_OF_PULLS = new Set<ImageStoreErrorCode>([
  'digest_mismatch',
  'unsafe_layer',
  'invalid_layer',
  'unsupported_layer',
  'invalid_config',
  'unpacked_size_limit',
  'entry_count_limit',
  'too_many_layers',
]);

/** Errors as the caller sees them: ImagePullError with the reference in the message, or the abort. */
function asPullError(err: unknown, reference: string, signal: AbortSignal): unknown {
  if (signal.aborted) return signal.reason;
  const prefix = `pull ${reference}: `;
  if (err instanceof ImagePullError) {
    if (!err.message.startsWith(prefix)) err.message = prefix + err.message;
    err.reference = reference;
    return err;
  }
  if (err instanceof NoMatchingPlatform) return new ImagePullError('platform_not_found', prefix + err.message, { cause: err, reference });
  if (err instanceof ImageStoreError) {
    const code = STORE_CODES_OF_PULLS.has(err.code) ? (err.code as ImagePullErrorCode) : err.code === 'invalid_manifest' ? 'invalid_manifest' : undefined;
    if (code !== undefined) return new ImagePullError(code, prefix + err.message, { cause: err, reference, ...(err.field !== undefined && { field: err.field }) });
    return err;
  }
  if (isTransient(err)) {
    return new ImagePullError('registry_unreachable', `${prefix}the connection failed: ${(err as Error).message}`, { cause: err, reference });
  }
  return err;
}

/** Runs fn over items with at most `limit` at once; the first failure stops new starts and is thrown. */
async function forEachLimited<T>(items: T[], limit: number, fn: (item: T, index: number) => Promise<void>, signal: AbortSignal): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && !signal.aborted && next < items.length) {
      const i = next++;
      try {
        await fn(items[i] as T, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  if (signal.aborted) throw signal.reason;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The OCI distribution API, read side, for one repository (github.com/opencontainers/distribution-spec
 * spec.md: "Pulling manifests", "Pulling blobs"):
 *
 *   GET /v2/<name>/manifests/<tag|digest>   Accept: OCI index, Docker manifest list, OCI manifest,
 *                                                   Docker schema 2 manifest
 *   GET /v2/<name>/blobs/<digest>           often a redirect to object storage
 *
 * Each request goes to the mirrors first and then to the registry; a mirror that fails (unreachable,
 * 404, refusing) is passed over. A 401 is answered once (registry-auth.ts) and the request repeated.
 * Manifests are verified here: their sha256 must be the digest asked for, or the one the registry
 * names in Docker-Content-Digest. Blobs are verified by whoever stores them (SnapshotStore.putBlob).
 */
import { sha256Digest } from '../store/digest.js';
import { MEDIA_TYPE } from '../store/oci-image.js';
import { ImagePullError } from './image-pull-error.js';
import type { RegistryAuth } from './registry-auth.js';
import { discard, errorFromResponse, httpGet, readBodyLimited, redact } from './registry-http.js';
import type { Endpoint } from './registry-options.js';

/** containerd's limit too: a manifest or index is a few KB; anything this big is hostile. */
export const MANIFEST_SIZE_LIMIT = 4 * 1024 * 1024;

export const MANIFEST_ACCEPT = [
  MEDIA_TYPE.ociIndex,
  MEDIA_TYPE.dockerManifestList,
  MEDIA_TYPE.ociManifest,
  MEDIA_TYPE.dockerManifest,
].join(', ');

export interface FetchedManifest {
  body: Buffer;
  /** sha256 of body: the manifest's digest. */
  digest: string;
  /** The Content-Type the registry gave it, without parameters. */
  contentType: string | undefined;
}

export interface BlobResponse {
  response: Response;
  /** Content-Length when the registry (or the storage it redirected to) gave one. */
  contentLength: number | undefined;
  /** Where it came from, for messages. */
  endpoint: Endpoint;
}

export class RegistryClient {
  readonly #scope: string;

  constructor(
    readonly registry: string,
    readonly repository: string,
    private readonly endpoints: Endpoint[],
    private readonly auth: RegistryAuth,
  ) {
    this.#scope = `repository:${repository}:pull`;
  }

  /** A manifest or index by tag or digest, verified against its digest. */
  async getManifest(reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const { response, endpoint } = await this.#get(`manifests/${reference}`, MANIFEST_ACCEPT, signal);
    const body = await readBodyLimited(response, MANIFEST_SIZE_LIMIT);
    const digest = sha256Digest(body);
    const where = `${this.#name(endpoint)} manifest ${reference}`;
    if (reference.includes(':') && reference !== digest) {
      throw new ImagePullError('digest_mismatch', `${where}: content has digest ${digest}, not the ${reference} asked for`);
    }
    const announced = response.headers.get('docker-content-digest');
    if (announced !== null && announced.startsWith('sha256:') && announced !== digest) {
      throw new ImagePullError('digest_mismatch', `${where}: content has digest ${digest}, but the registry says ${announced}`);
    }
    const contentType = response.headers.get('content-type')?.split(';')[0]?.trim() || undefined;
    return { body, digest, contentType };
  }

  /** A blob's body, still to be read (and verified) by the caller. */
  async getBlob(digest: string, signal?: AbortSignal): Promise<BlobResponse> {
    const { response, endpoint } = await this.#get(`blobs/${digest}`, '*/*', signal);
    const length = Number(response.headers.get('content-length') ?? NaN);
    return { response, contentLength: Number.isFinite(length) ? length : undefined, endpoint };
  }

  async #get(path: string, accept: string, signal: AbortSignal | undefined): Promise<{ response: Response; endpoint: Endpoint }> {
    const failures: ImagePullError[] = [];
    for (const endpoint of this.endpoints) {
      try {
        return { response: await this.#getAt(endpoint, path, accept, signal), endpoint };
      } catch (err) {
        if (signal?.aborted || !(err instanceof ImagePullError) || !endpoint.mirror) throw err;
        failures.push(err); // a mirror that cannot help: on to the next, and the registry last
      }
    }
    throw failures.at(-1) ?? new ImagePullError('registry_unreachable', `no endpoint for ${this.registry}`);
  }

  async #getAt(endpoint: Endpoint, path: string, accept: string, signal: AbortSignal | undefined): Promise<Response> {
    const url = `${endpoint.url}/v2/${this.repository}/${path}`;
    let authorization = this.auth.cached(endpoint, this.#scope);
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { accept };
      if (authorization !== undefined) headers.authorization = authorization;
      const response = await httpGet(url, { headers, signal });
      if (response.status === 401 && attempt === 0) {
        const challenge = response.headers.get('www-authenticate');
        await discard(response);
        this.auth.forget(endpoint, this.#scope);
        authorization = await this.auth.answer(endpoint, challenge, this.#scope, signal);
        continue;
      }
      if (!response.ok) {
        const err = await errorFromResponse(response, `GET ${redact(url)}`);
        if (err.code === 'unauthorized' && authorization !== undefined) this.auth.forget(endpoint, this.#scope);
        throw err;
      }
      return response;
    }
  }

  #name(endpoint: Endpoint): string {
    return `${endpoint.mirror ? `mirror ${endpoint.url} of ` : ''}${this.registry}/${this.repository}`;
  }
}

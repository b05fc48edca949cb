/**
 * The blobs a worker reads and hands on, wherever it runs (README "Workers on many hosts"):
 *
 * - ensure(digest): the blob as a file of this host's blob store (`<WARMBOX_DATA>/blobs`). When the
 *   store lacks it and the worker has the API's address (WARMBOX_API_URL), it is fetched over HTTP
 *   and stored verified against its digest; concurrent asks for one digest share one fetch. A
 *   worker beside the API (one process, or one data directory) finds it there: no HTTP hop.
 * - publish(digest, size, open): makes a blob this worker made reachable by workers elsewhere: handed
 *   to the API over HTTP (once per digest), or put into this host's store when it is the API's.
 *
 * Fetched blobs are collected as the API's are (worker/blob-cache-gc.ts).
 */
import type { Readable } from 'node:stream';
import type { BlobStore } from '../blobs/blob-store.js';
import type { ApiBlobClient } from './api-blob-client.js';

export class MissingBlobError extends Error {
  override name = 'MissingBlobError';
}

export interface BlobAccessOptions {
  store: BlobStore;
  /** The API's internal routes; absent: this host's store is the API's (one host, or a shared data directory). */
  api?: ApiBlobClient;
  /** Largest blob fetched (an image archive's bound, WARMBOX_IMPORT_MAX_BYTES). */
  maxBytes: number;
}

export class BlobAccess {
  readonly #fetching = new Map<string, Promise<string>>();

  constructor(private readonly opts: BlobAccessOptions) {}

  /** Whether blobs travel over HTTP (a worker on a host of its own). */
  get remote(): boolean {
    return this.opts.api !== undefined;
  }

  /** The blob's path in this host's store, fetched from the API first when the store lacks it. */
  async ensure(digest: string): Promise<string> {
    const { store, api } = this.opts;
    if ((await store.sizeOf(digest)) !== undefined) return store.pathOf(digest);
    if (api === undefined) {
      throw new MissingBlobError(`blob ${digest} is not in this worker's blob store, and the worker has no WARMBOX_API_URL to fetch it from`);
    }
    let fetching = this.#fetching.get(digest);
    if (fetching === undefined) {
      fetching = this.#fetch(api, digest).finally(() => this.#fetching.delete(digest));
      this.#fetching.set(digest, fetching);
    }
    return fetching;
  }

  /** The blob's bytes: from this host's store, or streamed from the API (the caller verifies them). */
  async open(digest: string): Promise<Readable> {
    const { store, api } = this.opts;
    if ((await store.sizeOf(digest)) !== undefined || api === undefined) return store.open(digest);
    return api.open(digest);
  }

  /**
   * Makes a blob this worker made reachable by the workers of other hosts. `file`: where it is on
   * this host, verified (a snapshot store blob): linked into the blob store rather than copied
   * when that is the API's.
   */
  async publish(digest: string, size: number, file: string, open: () => Readable): Promise<void> {
    const { store, api, maxBytes } = this.opts;
    if (api !== undefined) return api.put(digest, size, open);
    if ((await store.sizeOf(digest)) !== undefined || (await store.linkFrom(digest, file))) return;
    await store.put(open(), { maxBytes: Math.max(maxBytes, size), expected: digest });
  }

  async #fetch(api: ApiBlobClient, digest: string): Promise<string> {
    const { store, maxBytes } = this.opts;
    await store.put(await api.open(digest), { maxBytes, expected: digest });
    return store.pathOf(digest);
  }
}

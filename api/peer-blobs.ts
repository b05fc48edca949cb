/**
 * Several API processes behind one address (replicas of a Deployment) each keep the blobs uploaded
 * to them in their own store: a blob uploaded to one (a tenant's test data, an imported archive,
 * a layer a worker handed on) may be asked of another. One that lacks it asks its peers
 * (queue/api-peers.ts) on their internal route, stores what it gets verified against the digest,
 * and answers from its own store. A request from a peer is never passed on: no loops.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Logger } from 'pino';
import type { BlobStore } from '../blobs/blob-store.js';

/** The header a peer's request carries: answered from the store alone. */
export const FROM_PEER_HEADER = 'x-warmbox-from-peer';

export interface PeerBlobsOptions {
  store: BlobStore;
  /** The other API processes' addresses. */
  peers: () => Promise<string[]>;
  /** WARMBOX_WORKER_TOKEN: the internal route's secret, the same on every process. */
  token: string;
  maxBytes: number;
  log: Logger;
}

const ASK_TIMEOUT_MS = 10_000;

export class PeerBlobs {
  readonly #fetching = new Map<string, Promise<boolean>>();

  constructor(private readonly opts: PeerBlobsOptions) {}

  /** Whether the store holds the blob now: as it was, or fetched from a peer. */
  async ensure(digest: string): Promise<boolean> {
    if ((await this.opts.store.sizeOf(digest)) !== undefined) return true;
    let fetching = this.#fetching.get(digest);
    if (fetching === undefined) {
      fetching = this.#fromPeers(digest).finally(() => this.#fetching.delete(digest));
      this.#fetching.set(digest, fetching);
    }
    return fetching;
  }

  async #fromPeers(digest: string): Promise<boolean> {
    const { store, token, maxBytes, log } = this.opts;
    for (const peer of await this.opts.peers()) {
      try {
        const abort = new AbortController();
        const timer = setTimeout(() => abort.abort(), ASK_TIMEOUT_MS);
        let res: Response;
        try {
          res = await fetch(`${peer}/internal/v1/blobs/${digest}`, { headers: { authorization: `Bearer ${token}`, [FROM_PEER_HEADER]: '1' }, signal: abort.signal });
        } finally {
          clearTimeout(timer);
        }
        if (res.status !== 200 || res.body === null) {
          await res.body?.cancel();
          continue;
        }
        await store.put(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), { maxBytes, expected: digest });
        log.info({ digest, peer }, 'fetched a blob from another API process');
        return true;
      } catch (err) {
        log.warn({ err, digest, peer }, 'asking another API process for a blob failed');
      }
    }
    return false;
  }
}

/**
 * Collection of the API's blob store: a blob's bytes go when no tenant holds it (no `blobs` row), no
 * unfinished job references it (a queued or running job's references pin its blobs until it
 * ends), no image names it as where other hosts get it (an imported archive, a build's layer), and
 * its file was last written at least gcAgeMs ago (db/blob-pins.ts, blobs/blob-collection.ts).
 * Runs in every API process, on a timer; a worker-only process collects its own store alike.
 */
import type { Logger } from 'pino';
import { BlobCollector as StoreCollector, collectUnpinnedBlobs, type BlobCollection } from '../blobs/blob-collection.js';
import type { BlobStore } from '../blobs/blob-store.js';
import { pinnedBlobDigests } from '../db/blob-pins.js';
import type { WarmboxDb } from '../db/client.js';

export type { BlobCollection };

export function collectBlobs(db: WarmboxDb, store: BlobStore, gcAgeMs: number, now = Date.now()): Promise<BlobCollection> {
  return collectUnpinnedBlobs(store, () => pinnedBlobDigests(db), gcAgeMs, now);
}

export interface BlobCollectorOptions {
  db: WarmboxDb;
  store: BlobStore;
  gcAgeMs: number;
  log: Logger;
  /** Default: half the age, from 10 s to 10 minutes. */
  intervalMs?: number;
}

export const BlobCollector = {
  start(opts: BlobCollectorOptions): StoreCollector {
    return StoreCollector.start({
      store: opts.store,
      pinned: () => pinnedBlobDigests(opts.db),
      gcAgeMs: opts.gcAgeMs,
      ...(opts.intervalMs !== undefined && { intervalMs: opts.intervalMs }),
      onCollected: (removed) => opts.log.info({ removed }, 'collected blobs no tenant holds, no unfinished job references and no image names'),
      onError: (err) => opts.log.error({ err }, 'blob collection failed; trying again at the next interval'),
    });
  },
};

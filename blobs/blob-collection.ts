/**
 * Collection of a blob store: a blob's bytes go when nothing pins them (who decides is the caller's:
 * the db, db/blob-pins.ts) and its file was last written at least gcAgeMs ago (an upload in flight,
 * whose record is not written yet, is younger than that). The API's store and a worker's own (the
 * blobs it fetched from the API, on a host of its own) are collected by the same rule.
 */
import type { BlobStore } from './blob-store.js';

/** A staging file this old is an upload a crash broke off. */
const STAGING_MAX_AGE_MS = 24 * 3_600_000;

export type PinnedDigests = () => Set<string> | Promise<Set<string>>;

export interface BlobCollection {
  removed: string[];
  kept: number;
}

export async function collectUnpinnedBlobs(store: BlobStore, pinned: PinnedDigests, gcAgeMs: number, now = Date.now()): Promise<BlobCollection> {
  const files = await store.list();
  const first = await pinned();
  const removed: string[] = [];
  for (const blob of files) {
    if (first.has(blob.digest) || now - blob.mtimeMs < gcAgeMs) continue;
    // Read again right before the removal: a submission or an upload may have come since the list was read.
    if ((await pinned()).has(blob.digest)) continue;
    await store.remove(blob.digest);
    removed.push(blob.digest);
  }
  await store.removeStaleStaging(STAGING_MAX_AGE_MS, now);
  return { removed, kept: files.length - removed.length };
}

export interface BlobCollectorOptions {
  store: BlobStore;
  pinned: PinnedDigests;
  gcAgeMs: number;
  onCollected?: (removed: number) => void;
  onError: (err: unknown) => void;
  /** Default: half the age, from 10 s to 10 minutes. */
  intervalMs?: number;
}

/** collectUnpinnedBlobs on a timer; close() stops it (and waits for a collection under way). */
export class BlobCollector {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  private constructor(private readonly opts: BlobCollectorOptions) {}

  static start(opts: BlobCollectorOptions): BlobCollector {
    const collector = new BlobCollector(opts);
    const interval = opts.intervalMs ?? Math.min(600_000, Math.max(10_000, Math.floor(opts.gcAgeMs / 2)));
    collector.timer = setInterval(() => collector.tick(), interval);
    collector.timer.unref();
    return collector;
  }

  private tick(): void {
    this.running = this.running.then(async () => {
      try {
        const { removed } = await collectUnpinnedBlobs(this.opts.store, this.opts.pinned, this.opts.gcAgeMs);
        if (removed.length > 0) this.opts.onCollected?.(removed.length);
      } catch (err) {
        this.opts.onError(err);
      }
    });
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}

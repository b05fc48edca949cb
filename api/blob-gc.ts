/**
 * Collection of the blob store: a blob's bytes go when no tenant holds it (no `blobs` row), no
 * unfinished job references it (a queued or running job's references pin its blobs until it
 * ends), and its file was last written at least gcAgeMs ago (an upload in flight, whose record is
 * not written yet, is younger than that). Runs in every API process, on a timer.
 */
import type { Logger } from 'pino';
import type { BlobStore } from '../blobs/blob-store.js';
import { digestsOfUnfinishedJobs, heldDigests } from '../db/blobs.js';
import type { WarmboxDb } from '../db/client.js';

/** A staging file this old is an upload a crash broke off. */
const STAGING_MAX_AGE_MS = 24 * 3_600_000;

export interface BlobCollection {
  removed: string[];
  kept: number;
}

export async function collectBlobs(db: WarmboxDb, store: BlobStore, gcAgeMs: number, now = Date.now()): Promise<BlobCollection> {
  const files = await store.list();
  const held = await heldDigests(db);
  const pinned = await digestsOfUnfinishedJobs(db);
  const removed: string[] = [];
  for (const blob of files) {
    if (held.has(blob.digest) || pinned.has(blob.digest) || now - blob.mtimeMs < gcAgeMs) continue;
    // Read again right before the removal: a submission or an upload may have come since the lists were read.
    if ((await heldDigests(db)).has(blob.digest) || (await digestsOfUnfinishedJobs(db)).has(blob.digest)) continue;
    await store.remove(blob.digest);
    removed.push(blob.digest);
  }
  await store.removeStaleStaging(STAGING_MAX_AGE_MS, now);
  return { removed, kept: files.length - removed.length };
}

export interface BlobCollectorOptions {
  db: WarmboxDb;
  store: BlobStore;
  gcAgeMs: number;
  log: Logger;
  /** Default: half the age, from 10 s to 10 minutes. */
  intervalMs?: number;
}

/** collectBlobs on a timer; close() stops it (and waits for a collection under way). */
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
        const { removed } = await collectBlobs(this.opts.db, this.opts.store, this.opts.gcAgeMs);
        if (removed.length > 0) this.opts.log.info({ removed: removed.length }, 'collected blobs no tenant holds and no unfinished job references');
      } catch (err) {
        this.opts.log.error({ err }, 'blob collection failed; trying again at the next interval');
      }
    });
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}

/**
 * Which blobs' bytes must stay in a blob store (api/blob-gc.ts, and a worker's own store): those a
 * tenant holds, those an unfinished job references, and those an image's row names as where other
 * hosts get it (an imported archive, an image a worker made: contract/image-source.ts).
 */
import { blobsOfSource, imageSourceOf } from '../contract/image-source.js';
import { digestsOfUnfinishedJobs, heldDigests } from './blobs.js';
import type { WarmboxDb } from './database.js';

export async function pinnedBlobDigests(db: WarmboxDb): Promise<Set<string>> {
  const { images } = db.t;
  const pinned = new Set([...(await heldDigests(db)), ...(await digestsOfUnfinishedJobs(db))]);
  for (const { config } of await db.query(async (q) => q.select({ config: images.config }).from(images))) {
    const source = imageSourceOf(config);
    if (source !== undefined) for (const digest of blobsOfSource(source)) pinned.add(digest);
  }
  return pinned;
}

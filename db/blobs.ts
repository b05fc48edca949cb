/** Queries on `blobs` (which tenant holds which blob), and the blobs unfinished jobs reference. */
import { and, eq, ne } from 'drizzle-orm';
import { blobDigestsOf } from '../contract/job-payload.js';
import type { WarmboxDb } from './client.js';
import { DbWriteError } from './db-write-error.js';
import { blobs, jobs, type BlobRow } from './schema.js';

/** Records that the tenant holds the blob; returns false when it did already (its first record stays). */
export function recordBlob(db: WarmboxDb, row: BlobRow): boolean {
  try {
    return db.insert(blobs).values(row).onConflictDoNothing().run().changes === 1;
  } catch (err) {
    throw DbWriteError.from(err);
  }
}

export function findBlob(db: WarmboxDb, tenantId: string, digest: string): BlobRow | undefined {
  return db.select().from(blobs).where(and(eq(blobs.tenantId, tenantId), eq(blobs.digest, digest))).get();
}

/** Returns false when the tenant held no such blob. */
export function deleteBlob(db: WarmboxDb, tenantId: string, digest: string): boolean {
  return db.delete(blobs).where(and(eq(blobs.tenantId, tenantId), eq(blobs.digest, digest))).run().changes === 1;
}

/** Digests some tenant holds. */
export function heldDigests(db: WarmboxDb): Set<string> {
  return new Set(db.selectDistinct({ digest: blobs.digest }).from(blobs).all().map((r) => r.digest));
}

/** Digests a queued or running job references (stdin or files): pinned until the job ends. */
export function digestsOfUnfinishedJobs(db: WarmboxDb): Set<string> {
  const rows = db.select({ request: jobs.request }).from(jobs).where(ne(jobs.status, 'finished')).all();
  return new Set(rows.flatMap((r) => blobDigestsOf(r.request)));
}

/** Queries on `blobs` (which tenant holds which blob), and the blobs unfinished jobs reference. */
import { and, eq, ne } from 'drizzle-orm';
import { blobDigestsOf } from '../contract/job-payload.js';
import { changesOf, first, type WarmboxDb } from './database.js';
import { DbWriteError } from './db-write-error.js';
import type { BlobRow } from './schema.js';

/** Records that the tenant holds the blob; returns false when it did already (its first record stays). */
export async function recordBlob(db: WarmboxDb, row: BlobRow): Promise<boolean> {
  const { blobs } = db.t;
  try {
    return await db.query(async (q) => changesOf(await q.insert(blobs).values(row).onConflictDoNothing()) === 1);
  } catch (err) {
    throw DbWriteError.from(err);
  }
}

export function findBlob(db: WarmboxDb, tenantId: string, digest: string): Promise<BlobRow | undefined> {
  const { blobs } = db.t;
  return db.query(async (q) => first(await q.select().from(blobs).where(and(eq(blobs.tenantId, tenantId), eq(blobs.digest, digest))).limit(1)));
}

/** Returns false when the tenant held no such blob. */
export function deleteBlob(db: WarmboxDb, tenantId: string, digest: string): Promise<boolean> {
  const { blobs } = db.t;
  return db.query(async (q) => changesOf(await q.delete(blobs).where(and(eq(blobs.tenantId, tenantId), eq(blobs.digest, digest)))) === 1);
}

/** Digests some tenant holds. */
export async function heldDigests(db: WarmboxDb): Promise<Set<string>> {
  const { blobs } = db.t;
  const rows = await db.query(async (q) => q.selectDistinct({ digest: blobs.digest }).from(blobs));
  return new Set(rows.map((r) => r.digest));
}

/** Digests a queued or running job references (stdin or files): pinned until the job ends. */
export async function digestsOfUnfinishedJobs(db: WarmboxDb): Promise<Set<string>> {
  const { jobs } = db.t;
  const rows = await db.query(async (q) => q.select({ request: jobs.request }).from(jobs).where(ne(jobs.status, 'finished')));
  return new Set(rows.flatMap((r) => blobDigestsOf(r.request)));
}

/** Whether the db can take the write a job submission makes, for GET /readyz (db/sqlite/probe.ts, or a Postgres server's read-only state). */
import type { WarmboxDb } from './database.js';

/** Throws DbWriteError (`disk_full` or `db_unavailable`) when a write of up to minFreeBytes would not hold now. */
export function probeDbWrites(db: WarmboxDb, minFreeBytes: number): Promise<void> {
  return db.probeWrites(minFreeBytes);
}

/**
 * Opens the db: Postgres when WARMBOX_DATABASE_URL names one (postgres:// or postgresql://), else
 * the embedded SQLite file (one host; several processes of it may share the file). Migrations are
 * applied at open, for either.
 */
import type { DatabaseHandle } from './database.js';
import { openPostgres } from './pg/client.js';
import { openSqlite } from './sqlite/client.js';

export type { DatabaseHandle, WarmboxDb } from './database.js';

export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** `location`: a Postgres URL, or the SQLite file's path. */
export async function openDatabase(location: string): Promise<DatabaseHandle> {
  return isPostgresUrl(location) ? openPostgres(location) : openSqlite(location);
}

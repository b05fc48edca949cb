/**
 * Opens the SQLite db. Several processes (API, workers, CLI) may open the same file at once:
 * WAL lets readers run beside the one writer, and busy_timeout makes a writer wait for the lock
 * instead of failing with SQLITE_BUSY.
 */
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.js';
import { migrationsFolder } from './migrations-folder.js';

/** The typed query handle; `$client` is its better-sqlite3 connection (db/probe.ts). */
export type WarmboxDb = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

export interface DatabaseHandle {
  /** The typed query handle that db/jobs.ts and db/images.ts take. */
  readonly db: WarmboxDb;
  readonly file: string;
  close(): void;
}

const BUSY_TIMEOUT_MS = 5_000;

export function openDatabase(file: string): DatabaseHandle {
  const sqlite = new Database(file);
  try {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    sqlite.pragma('foreign_keys = ON');
    const db = drizzle(sqlite, { schema });
    applyMigrations(db);
    return { db, file, close: () => sqlite.close() };
  } catch (err) {
    sqlite.close();
    throw err;
  }
}

/**
 * drizzle's migrator reads the applied migrations before it begins its transaction, so two
 * processes opening a fresh file together can both try to apply the same migration; the loser
 * fails inside its transaction (rolled back). Running it once more reads the winner's record.
 */
function applyMigrations(db: WarmboxDb): void {
  const config = { migrationsFolder: migrationsFolder() };
  try {
    migrate(db, config);
  } catch {
    migrate(db, config);
  }
}

/**
 * Opens the SQLite db. Several processes (API, workers, CLI) may open the same file at once:
 * WAL lets readers run beside the one writer, and busy_timeout makes a writer wait for the lock
 * instead of failing with SQLITE_BUSY.
 */
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import type { DatabaseHandle, Query, WarmboxDb } from '../database.js';
import { migrationsFolder } from '../migrations-folder.js';
import * as schema from '../schema.js';
import { Gate } from './gate.js';
import { probeSqliteWrites } from './probe.js';

const BUSY_TIMEOUT_MS = 5_000;

export function openSqlite(file: string): DatabaseHandle {
  const sqlite = new Database(file);
  try {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    sqlite.pragma('foreign_keys = ON');
    const drizzleDb = drizzle(sqlite, { schema });
    applyMigrations(drizzleDb);
    const db = new SqliteDb(sqlite, drizzleDb as unknown as Query, new Gate(), false);
    return {
      db,
      location: file,
      close: async () => {
        sqlite.close();
      },
    };
  } catch (err) {
    sqlite.close();
    throw err;
  }
}

/**
 * The one connection's statements, serialized by the gate: a transaction is BEGIN IMMEDIATE …
 * COMMIT around an async body (better-sqlite3's own transactions take synchronous bodies only),
 * holding the gate until it ends. The statements still run synchronously when awaited, as
 * prepared statements where db/jobs.ts prepares them.
 */
class SqliteDb implements WarmboxDb {
  readonly dialect = 'sqlite';
  readonly t = schema;

  constructor(
    private readonly sqlite: Database.Database,
    private readonly q: Query,
    private readonly gate: Gate,
    private readonly inTransaction: boolean,
  ) {}

  query<T>(body: (q: Query) => Promise<T>): Promise<T> {
    return this.inTransaction ? body(this.q) : this.gate.through(() => body(this.q));
  }

  transaction<T>(body: (tx: WarmboxDb) => Promise<T>): Promise<T> {
    if (this.inTransaction) return body(this);
    return this.gate.through(async () => {
      this.sqlite.exec('BEGIN IMMEDIATE');
      try {
        const result = await body(new SqliteDb(this.sqlite, this.q, this.gate, true));
        this.sqlite.exec('COMMIT');
        return result;
      } catch (err) {
        // A failed COMMIT (SQLITE_FULL) may have rolled back already.
        if (this.sqlite.inTransaction) this.sqlite.exec('ROLLBACK');
        throw err;
      }
    });
  }

  probeWrites(minFreeBytes: number): Promise<void> {
    return this.gate.through(async () => probeSqliteWrites(this.sqlite, minFreeBytes));
  }
}

/**
 * drizzle's migrator reads the applied migrations before it begins its transaction, so two
 * processes opening a fresh file together can both try to apply the same migration; the loser
 * fails inside its transaction (rolled back). Running it once more reads the winner's record.
 */
function applyMigrations(db: BetterSQLite3Database<typeof schema>): void {
  const config = { migrationsFolder: migrationsFolder('sqlite') };
  try {
    migrate(db, config);
  } catch {
    migrate(db, config);
  }
}

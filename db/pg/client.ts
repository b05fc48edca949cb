/**
 * Opens a Postgres db (WARMBOX_DATABASE_URL): a pool of connections, shared by every query of the
 * process; a transaction takes one of them for its length. Several processes start at once, so
 * migrations run under an advisory lock: the first applies them, the others wait and find them
 * applied.
 */
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { TABLE_NAMES, type DatabaseHandle, type Query, type Tables, type WarmboxDb } from '../database.js';
import { DbWriteError } from '../db-write-error.js';
import { migrationsFolder } from '../migrations-folder.js';
import * as schema from './schema.js';

/** pg_advisory_lock's key for migrations: any constant no other user of the database takes. */
const MIGRATION_LOCK_KEY = 0x7761726d; // 'warm'

export async function openPostgres(url: string): Promise<DatabaseHandle> {
  const pool = new pg.Pool({ connectionString: url });
  // An idle connection that breaks (the server restarted) must not take the process down.
  pool.on('error', () => {});
  try {
    await applyMigrations(pool);
  } catch (err) {
    await pool.end();
    throw err;
  }
  const db = new PgDb(drizzle(pool, { schema }), pool, false);
  return { db, location: withoutPassword(url), close: () => pool.end() };
}

async function applyMigrations(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await migrate(drizzle(client), { migrationsFolder: migrationsFolder('postgres') });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    client.release();
  }
}

const TABLES = Object.fromEntries(TABLE_NAMES.map((name) => [name, schema[name]])) as unknown as Tables;

/** The pool's queries, or one transaction's: drizzle's node-postgres transactions take async bodies. */
class PgDb implements WarmboxDb {
  readonly dialect = 'postgres';
  readonly t = TABLES;

  constructor(
    private readonly q: NodePgDatabase<typeof schema>,
    private readonly pool: pg.Pool,
    private readonly inTransaction: boolean,
  ) {}

  query<T>(body: (q: Query) => Promise<T>): Promise<T> {
    return body(this.q as unknown as Query);
  }

  transaction<T>(body: (tx: WarmboxDb) => Promise<T>): Promise<T> {
    if (this.inTransaction) return body(this);
    return this.q.transaction((tx) => body(new PgDb(tx as unknown as NodePgDatabase<typeof schema>, this.pool, true)));
  }

  /** A read-only server (a standby, or default_transaction_read_only) cannot take the job's write. */
  async probeWrites(): Promise<void> {
    try {
      const { rows } = await this.pool.query<{ recovery: boolean; readOnly: string }>(
        `SELECT pg_is_in_recovery() AS recovery, current_setting('transaction_read_only') AS "readOnly"`,
      );
      if (rows[0]?.recovery || rows[0]?.readOnly === 'on') throw new Error('the Postgres server takes no writes (a standby, or read-only)');
    } catch (err) {
      throw DbWriteError.from(err);
    }
  }
}

function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres';
  }
}

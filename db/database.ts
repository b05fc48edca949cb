/**
 * The one interface every query module takes, whichever database is behind it: SQLite (the
 * embedded default, db/sqlite/) or PostgreSQL (several processes or hosts, db/pg/).
 *
 * A query module is written once: it reads its tables from `db.t` (the dialect's tables, with the
 * same fields and row types as db/schema.ts) and runs drizzle builders inside `db.query` or
 * `db.transaction`, awaiting them; it never calls the SQLite-only `.run()`, `.get()` or `.all()`.
 * The builders are typed as SQLite's (the row types are the same for both dialects); at run time
 * they are the dialect's own, so each writes its own SQL. What SQL differs in is in
 * db/dialect-sql.ts. test/db runs every module against both dialects.
 */
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import type * as schema from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export const TABLE_NAMES = [
  'jobs',
  'idempotencyKeys',
  'tenants',
  'apiKeys',
  'images',
  'triggers',
  'triggerDeliveries',
  'webhookDeliveries',
  'webhookAttempts',
  'blobs',
  'judgeRuns',
  'judge0Submissions',
] as const;

/** The tables as db/schema.ts declares them; on Postgres, db/pg/schema.ts's, which mirror them. */
export type Tables = Pick<typeof schema, (typeof TABLE_NAMES)[number]>;

/** The drizzle handle a query runs on (awaited, never `.run()`/`.get()`/`.all()`). */
export type Query = BaseSQLiteDatabase<'async', unknown, typeof schema>;

export interface WarmboxDb {
  readonly dialect: Dialect;
  readonly t: Tables;
  /**
   * Runs statements. On SQLite (one connection) they wait for a transaction in progress, which
   * would otherwise take them in: keep the body to statements, with no other awaits.
   */
  query<T>(body: (q: Query) => Promise<T>): Promise<T>;
  /**
   * Runs the body in one transaction: committed when it returns, rolled back when it throws (and
   * the error rethrown). Inside a transaction, `transaction` joins it (no savepoint).
   */
  transaction<T>(body: (tx: WarmboxDb) => Promise<T>): Promise<T>;
  /** Throws DbWriteError when a write of up to minFreeBytes would not hold now (GET /readyz). */
  probeWrites(minFreeBytes: number): Promise<void>;
}

export interface DatabaseHandle {
  readonly db: WarmboxDb;
  /** Where it is, for messages: the SQLite file, or the Postgres URL without its password. */
  readonly location: string;
  close(): Promise<void>;
}

/** Rows an INSERT, UPDATE or DELETE changed: better-sqlite3 says `changes`, node-postgres `rowCount`. */
export function changesOf(result: unknown): number {
  const r = result as { changes?: number; rowCount?: number | null };
  return r.changes ?? r.rowCount ?? 0;
}

/** The first row of a result, or undefined (what `.get()` gave, for both dialects). */
export function first<T>(rows: T[]): T | undefined {
  return rows[0];
}

/** The SQL fragments the two dialects write differently; the query modules are otherwise one. */
import { sql, type SQL } from 'drizzle-orm';
import type { AnyColumn } from 'drizzle-orm';
import type { WarmboxDb } from './database.js';

/** Whether the JSON object in `column` has `key` set to the string `value`. */
export function jsonFieldEquals(db: WarmboxDb, column: AnyColumn, key: string, value: string): SQL {
  return db.dialect === 'sqlite'
    ? sql`exists (select 1 from json_each(${column}) where json_each.key = ${key} and json_each.value = ${value})`
    : sql`(${column} ->> ${key}::text) = ${value}::text`;
}

/** The larger of two numbers (SQLite's two-argument max(), Postgres's greatest()). */
export function greatest(db: WarmboxDb, a: AnyColumn | SQL, b: number): SQL {
  return db.dialect === 'sqlite' ? sql`max(${a}, ${b})` : sql`greatest(${a}, ${b})`;
}

/**
 * db/pg/schema.ts mirrors db/schema.ts: the query modules are written once against the SQLite
 * tables' types and run on Postgres's (db/database.ts), so every table must have the same fields,
 * columns, nullability and indexes in both. A table changed in db/schema.ts alone fails here: change
 * db/pg/schema.ts too, and generate its migration (`npm run db:generate:pg`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getTableConfig as pgConfig, type PgTable } from 'drizzle-orm/pg-core';
import { getTableConfig as sqliteConfig, type SQLiteTable } from 'drizzle-orm/sqlite-core';
import { TABLE_NAMES } from '../../db/database.js';
import * as pgSchema from '../../db/pg/schema.js';
import * as sqliteSchema from '../../db/schema.js';

interface TableShape {
  name: string;
  columns: readonly { name: string; notNull: boolean; primary: boolean }[];
  indexes: readonly { config: { name?: string } }[];
}

function shape(config: TableShape, table: object) {
  const columns: readonly unknown[] = config.columns;
  const fields = Object.fromEntries(Object.entries(table).filter(([, v]) => columns.includes(v)).map(([k, v]) => [k, (v as { name: string }).name]));
  return {
    name: config.name,
    fields,
    columns: config.columns.map((c) => `${c.name}${c.notNull ? ' not null' : ''}${c.primary ? ' pk' : ''}`).sort(),
    indexes: config.indexes.map((i) => i.config.name).sort(),
  };
}

describe('the Postgres schema', () => {
  for (const name of TABLE_NAMES) {
    it(`mirrors SQLite's ${name}`, () => {
      const sqlite = sqliteSchema[name] as SQLiteTable;
      const pg = (pgSchema as Record<string, unknown>)[name] as PgTable | undefined;
      assert.ok(pg, `db/pg/schema.ts exports ${name}`);
      assert.deepEqual(shape(pgConfig(pg), pg), shape(sqliteConfig(sqlite), sqlite));
    });
  }

  it('has no table SQLite lacks', () => {
    const pgTables = Object.keys(pgSchema).filter((k) => typeof (pgSchema as Record<string, unknown>)[k] === 'object');
    assert.deepEqual(pgTables.sort(), [...TABLE_NAMES].sort());
  });
});

/**
 * The db tests' dialects: every test of test/db runs against SQLite (a file in a temporary
 * directory) and against PostgreSQL (a fresh database of a server this file starts,
 * test/helpers/postgres.ts). `forEachDialect` declares one suite per dialect; `open()` gives a
 * fresh, migrated db of it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { openDatabase, type DatabaseHandle } from '../../db/client.js';
import type { Dialect } from '../../db/database.js';
import { startPostgres, type TestPostgres } from './postgres.js';

export const DIALECTS: readonly Dialect[] = ['sqlite', 'postgres'];

export interface DialectFixture {
  readonly dialect: Dialect;
  /** A fresh, migrated db; closed after the suite. */
  open(): Promise<DatabaseHandle>;
  /** Where a fresh db would be (a file path or a Postgres URL), not opened yet. */
  location(): Promise<string>;
}

let postgres: Promise<TestPostgres> | undefined;

/** One server per test file, started at its first use, stopped when the file's tests end. */
function sharedPostgres(): Promise<TestPostgres> {
  return (postgres ??= startPostgres());
}

after(async () => {
  if (postgres !== undefined) await (await postgres).stop();
});

export function forEachDialect(name: string, body: (fixture: DialectFixture) => void): void {
  for (const dialect of DIALECTS) {
    describe(`${name} (${dialect})`, () => {
      const opened: DatabaseHandle[] = [];
      let dir: string;
      let serial = 0;
      before(async () => {
        dir = mkdtempSync(join(tmpdir(), 'warmbox-db-'));
        if (dialect === 'postgres') await sharedPostgres();
      });
      after(async () => {
        for (const h of opened) await h.close();
        rmSync(dir, { recursive: true, force: true });
      });
      const location = async () => (dialect === 'sqlite' ? join(dir, `db-${serial++}.db`) : (await sharedPostgres()).database());
      body({
        dialect,
        location,
        async open() {
          const handle = await openDatabase(await location());
          opened.push(handle);
          return handle;
        },
      });
    });
  }
}

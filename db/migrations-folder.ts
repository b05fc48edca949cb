/**
 * Where the checked-in migrations of a dialect are at run time: SQLite's in db/migrations,
 * Postgres's in db/pg/migrations. They are not compiled, so they are found from
 * the package root (the nearest directory above this module that holds package.json), which is
 * the same whether this runs as db/*.ts or as dist/db/*.js.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dialect } from './database.js';

export function migrationsFolder(dialect: Dialect): string {
  const root = packageRoot(dirname(fileURLToPath(import.meta.url)));
  return dialect === 'sqlite' ? join(root, 'db', 'migrations') : join(root, 'db', 'pg', 'migrations');
}

function packageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) {
      throw new Error(`no package.json above ${start}: cannot find db/migrations (is the package installed whole?)`);
    }
  }
}

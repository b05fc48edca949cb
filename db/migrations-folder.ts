/**
 * Where the checked-in migrations are at run time. They are not compiled, so they are found from
 * the package root (the nearest directory above this module that holds package.json), which is
 * the same whether this runs as db/*.ts or as dist/db/*.js.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function migrationsFolder(): string {
  return join(packageRoot(dirname(fileURLToPath(import.meta.url))), 'db', 'migrations');
}

function packageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) {
      throw new Error(`no package.json above ${start}: cannot find db/migrations (is the package installed whole?)`);
    }
  }
}

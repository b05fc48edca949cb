/**
 * Where warmbox's own built files are, found from this module's location so that it works from the
 * sources and from dist/ alike. A function that names a file which must exist checks it, and says
 * which command builds it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'warmbox';
const SETUP_COMMAND = 'npm run setup';

let cachedRoot: string | undefined;

/** The directory that holds warmbox's package.json (the repository root). */
export function packageRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    // dist/ may get a copy of package.json when a module imports it: the root is the one above it.
    if (isPackageRoot(dir) && !(basename(dir) === 'dist' && isPackageRoot(dirname(dir)))) {
      cachedRoot = dir;
      return dir;
    }
    if (dirname(dir) === dir) throw new Error(`no package.json of ${PACKAGE_NAME} above ${start}`);
  }
}

/** The native sandbox launcher, built from runtime/native/. */
export function launcherPath(): string {
  return requireBuilt(join(packageRoot(), 'runtime', 'native', 'build', 'warmbox-launcher'), 'the sandbox launcher');
}

/** The hello-world image's program, built from infra/images/hello-world/hello.c. */
export function helloWorldBinary(): string {
  return requireBuilt(join(helloWorldSourceDir(), 'build', 'hello'), "the hello-world image's program");
}

export function helloWorldSourceDir(): string {
  return join(packageRoot(), 'infra', 'images', 'hello-world');
}

function requireBuilt(path: string, what: string): string {
  if (!existsSync(path)) {
    throw new Error(`${what} is not built: ${path} is missing. Build it with \`${SETUP_COMMAND}\` in ${packageRoot()}.`);
  }
  return path;
}

function isPackageRoot(dir: string): boolean {
  const manifest = join(dir, 'package.json');
  if (!existsSync(manifest)) return false;
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME;
  } catch {
    return false;
  }
}

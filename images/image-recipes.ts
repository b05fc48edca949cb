/**
 * Language images built on this machine, without a registry: Debian minbase plus a few packages, as
 * infra/images/<name>/recipe.json says (see infra/images/README.md). A build is:
 *
 *   1. find the Debian mirror and suite (opts, WARMBOX_DEBIAN_MIRROR, else apt's own configuration)
 *   2. debootstrap --variant=minbase --include=<packages> into a staging directory of the store
 *   3. tidy the tree: apt's caches and lists, logs, the build host's hostname and resolv.conf
 *   4. run the recipe's check command in the tree (chroot), which must exit 0
 *   5. store it as a one-layer OCI image (gzip layer, streamed) and tag it — last
 *
 * The tag is docker.io/library/<name>:latest (opts.reference to change it), the name Docker Hub's
 * official image has: a job's `"image": "python"` then finds it without a registry, as it finds the
 * built-in busybox. A later pull of `python` from a reachable Docker Hub would replace the tag with the
 * official image, which is as good for the same programs.
 *
 * Needs root (debootstrap, chroot) and Debian's debootstrap package (`npm run setup` installs it).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { RECIPE_NAMES, type RecipeName } from '../contract/recipe-names.js';
import type { SnapshotStore, StoredImage } from './image-store.js';
import { packageRoot } from '../contract/paths.js';
import { buildStreamedLayerImage } from './store/image-builder.js';

export { RECIPE_NAMES, type RecipeName } from '../contract/recipe-names.js';

const recipeSchema = z.object({
  description: z.string(),
  packages: z.array(z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, 'a Debian package name')).min(1),
  config: z.object({
    Entrypoint: z.array(z.string()).optional(),
    Cmd: z.array(z.string()).optional(),
    Env: z.array(z.string().regex(/^[^=]+=/, 'NAME=value')).optional(),
    WorkingDir: z.string().regex(/^\//, 'an absolute path').optional(),
    User: z.string().optional(),
  }).strict(),
  check: z.array(z.string()).min(1),
}).strict();

export type Recipe = z.infer<typeof recipeSchema> & { name: RecipeName };

export interface DebianSource {
  /** Mirror base URL, as debootstrap takes it: 'http://<mirror>/debian'. */
  mirror: string;
  /** 'bookworm'. */
  suite: string;
  /** The keyring apt verifies the mirror with, when apt's configuration names one. */
  keyring?: string;
}

export interface BuildRecipeOptions {
  /** Mirror base URL; default WARMBOX_DEBIAN_MIRROR, else the one apt uses. */
  mirror?: string;
  /** Debian suite; default WARMBOX_DEBIAN_SUITE, else the one apt uses, else bookworm. */
  suite?: string;
  /** Default docker.io/library/<name>:latest. */
  reference?: string;
  /** A directory where debootstrap keeps the .debs it downloads, to reuse on the next build. */
  debCacheDir?: string;
  onLog?: (line: string) => void;
  signal?: AbortSignal;
}

const DEFAULT_SUITE = 'bookworm';
const APT_SOURCES_LIST = '/etc/apt/sources.list';
const APT_SOURCES_DIR = '/etc/apt/sources.list.d';

/** A recipe file's content, checked; throws with the reason and the file. */
export function parseRecipe(name: RecipeName, text: string, source: string): Recipe {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`recipe ${source} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = recipeSchema.safeParse(doc);
  if (!parsed.success) throw new Error(`recipe ${source} is invalid: ${z.prettifyError(parsed.error)}`);
  return { ...parsed.data, name };
}

export function recipeDir(name: RecipeName): string {
  return join(packageRoot(), 'infra', 'images', name);
}

function loadRecipes(): Record<RecipeName, Recipe> {
  const recipes = {} as Record<RecipeName, Recipe>;
  for (const name of RECIPE_NAMES) {
    const file = join(recipeDir(name), 'recipe.json');
    recipes[name] = parseRecipe(name, readFileSync(file, 'utf8'), file);
  }
  return recipes;
}

/** The recipes of infra/images/, read when this module is loaded. */
export const RECIPES: Readonly<Record<RecipeName, Recipe>> = loadRecipes();

/**
 * Builds a recipe's image into the store and tags it (see the module comment for the steps); returns
 * it as stored. Takes minutes; its progress goes to opts.onLog line by line.
 */
export async function buildRecipeImage(store: SnapshotStore, name: RecipeName, opts: BuildRecipeOptions = {}): Promise<StoredImage> {
  const recipe = RECIPES[name];
  if (!recipe) throw new Error(`no recipe ${JSON.stringify(name)}: there are ${RECIPE_NAMES.join(', ')}`);
  const log = opts.onLog ?? (() => {});
  const reference = opts.reference ?? `docker.io/library/${name}:latest`;
  const source = await resolveDebianSource(opts);
  log(`warmbox: building ${reference} from ${source.mirror} ${source.suite}: ${recipe.packages.join(' ')}`);

  const staging = await store.makeStagingDir(`recipe-${name}`);
  const rootfs = join(staging, 'rootfs');
  try {
    await debootstrap(recipe, source, rootfs, opts, log);
    await tidyRootfs(rootfs, recipe);
    log(`warmbox: checking: ${recipe.check.join(' ')}`);
    await runLogged('chroot', [rootfs, ...recipe.check], log, opts.signal, { env: envOf(recipe) });
    log('warmbox: storing the layer');
    await store.withGarbageCollectionPaused(() => buildStreamedLayerImage(store, {
      reference,
      rootfs,
      created: new Date(),
      config: recipe.config,
      createdBy: `warmbox recipe ${name}: debootstrap --variant=minbase ${source.suite} + ${recipe.packages.join(' ')}`,
    }));
  } finally {
    await removeStaging(staging);
  }
  const image = await store.resolve(reference);
  if (!image) throw new Error(`${reference} was built but does not resolve`);
  log(`warmbox: ${reference} is ${image.digest}`);
  return image;
}

// ---- 1. the Debian mirror ----

/** opts, then WARMBOX_DEBIAN_MIRROR / WARMBOX_DEBIAN_SUITE, then apt's configuration. */
export async function resolveDebianSource(opts: { mirror?: string; suite?: string } = {}, env: NodeJS.ProcessEnv = process.env): Promise<DebianSource> {
  const apt = await debianSourceFromApt();
  const mirror = opts.mirror ?? env.WARMBOX_DEBIAN_MIRROR ?? apt?.mirror;
  if (mirror === undefined || mirror === '') {
    throw new Error(`no Debian mirror: apt's configuration (${APT_SOURCES_DIR}/*.sources, ${APT_SOURCES_LIST}) names none; set WARMBOX_DEBIAN_MIRROR to a mirror's base URL (…/debian)`);
  }
  const source: DebianSource = { mirror, suite: opts.suite ?? env.WARMBOX_DEBIAN_SUITE ?? apt?.suite ?? DEFAULT_SUITE };
  if (apt?.keyring !== undefined && mirror === apt.mirror) source.keyring = apt.keyring;
  return source;
}

/** The Debian archive apt uses on this machine, from its deb822 .sources files, then sources.list. */
export async function debianSourceFromApt(dir = APT_SOURCES_DIR, list = APT_SOURCES_LIST): Promise<DebianSource | undefined> {
  const names = existsSync(dir) ? (await readdir(dir)).filter((n) => n.endsWith('.sources') || n.endsWith('.list')).sort() : [];
  for (const name of names) {
    const text = await readFile(join(dir, name), 'utf8');
    const found = name.endsWith('.sources') ? parseDeb822Sources(text) : parseSourcesList(text);
    if (found) return found;
  }
  return existsSync(list) ? parseSourcesList(await readFile(list, 'utf8')) : undefined;
}

/**
 * The first enabled `Types: deb` stanza of a deb822 sources file with a release suite (one without
 * '-': not bookworm-security or bookworm-updates), as a DebianSource.
 */
export function parseDeb822Sources(text: string): DebianSource | undefined {
  for (const stanza of deb822Stanzas(text)) {
    if (!(stanza.types ?? '').split(/\s+/).includes('deb')) continue;
    if ((stanza.enabled ?? 'yes').toLowerCase() === 'no') continue;
    const uri = (stanza.uris ?? '').split(/\s+/).find((u) => /^https?:\/\//.test(u));
    const suite = (stanza.suites ?? '').split(/\s+/).find(isReleaseSuite);
    if (uri === undefined || suite === undefined) continue;
    const source: DebianSource = { mirror: uri.replace(/\/+$/, ''), suite };
    const signedBy = stanza['signed-by'];
    if (signedBy !== undefined && signedBy.startsWith('/') && !signedBy.includes('\n')) source.keyring = signedBy.trim();
    return source;
  }
  return undefined;
}

/** The first `deb [options] URI suite components` line with a release suite. */
export function parseSourcesList(text: string): DebianSource | undefined {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (!m?.[2] || !m[3] || !/^https?:\/\//.test(m[2]) || !isReleaseSuite(m[3])) continue;
    const source: DebianSource = { mirror: m[2].replace(/\/+$/, ''), suite: m[3] };
    const signedBy = /(?:^|\s)signed-by=(\S+)/.exec(m[1] ?? '')?.[1];
    if (signedBy?.startsWith('/')) source.keyring = signedBy;
    return source;
  }
  return undefined;
}

function isReleaseSuite(suite: string): boolean {
  return /^[a-z]+$/.test(suite);
}

/** deb822 stanzas as lower-cased field → value (continuation lines joined with '\n'). */
function deb822Stanzas(text: string): Array<Record<string, string>> {
  const stanzas: Array<Record<string, string>> = [];
  let current: Record<string, string> = {};
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    if (line.trim() === '') {
      if (Object.keys(current).length > 0) stanzas.push(current);
      current = {};
      last = undefined;
    } else if (/^\s/.test(line) && last !== undefined) {
      current[last] += `\n${line.trim()}`;
    } else {
      const colon = line.indexOf(':');
      if (colon > 0) {
        last = line.slice(0, colon).trim().toLowerCase();
        current[last] = line.slice(colon + 1).trim();
      }
    }
  }
  if (Object.keys(current).length > 0) stanzas.push(current);
  return stanzas;
}

// ---- 2. debootstrap ----

/** The debootstrap command line of a build, for the log and for tests. */
export function debootstrapArgs(recipe: Recipe, source: DebianSource, rootfs: string, debCacheDir?: string): string[] {
  const args = ['--variant=minbase', `--include=${recipe.packages.join(',')}`, '--components=main'];
  if (source.keyring !== undefined) args.push(`--keyring=${source.keyring}`);
  if (debCacheDir !== undefined) args.push(`--cache-dir=${debCacheDir}`);
  args.push(source.suite, rootfs, source.mirror);
  return args;
}

async function debootstrap(recipe: Recipe, source: DebianSource, rootfs: string, opts: BuildRecipeOptions, log: (line: string) => void): Promise<void> {
  if (opts.debCacheDir !== undefined) await mkdir(opts.debCacheDir, { recursive: true });
  const args = debootstrapArgs(recipe, source, rootfs, opts.debCacheDir);
  log(`warmbox: debootstrap ${args.join(' ')}`);
  await runLogged('debootstrap', args, log, opts.signal, {
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', DEBIAN_FRONTEND: 'noninteractive' },
    hint: 'install Debian\'s debootstrap (`npm run setup` does)',
  });
}

// ---- 3. tidying ----

/** What a build leaves that an image should not carry: caches, logs, and the build host's identity. */
async function tidyRootfs(rootfs: string, recipe: Recipe): Promise<void> {
  for (const dir of ['var/cache/apt/archives', 'var/lib/apt/lists', 'var/log', 'tmp', 'var/tmp']) {
    await emptyDir(join(rootfs, dir));
  }
  await rm(join(rootfs, 'var/cache/apt/pkgcache.bin'), { force: true });
  await rm(join(rootfs, 'var/cache/apt/srcpkgcache.bin'), { force: true });
  await writeFile(join(rootfs, 'etc/hostname'), 'sandbox\n');
  await writeFile(join(rootfs, 'etc/resolv.conf'), '');
  const workingDir = recipe.config.WorkingDir;
  if (workingDir !== undefined && workingDir !== '/') {
    const dir = join(rootfs, workingDir);
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o1777);
  }
}

/** Removes a directory's content (not subdirectories that apt expects, like archives/partial). */
async function emptyDir(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name === 'partial') continue;
    if (entry.isDirectory() && (dir.endsWith('var/log') || dir.endsWith('apt/archives'))) {
      await emptyDir(path); // keep var/log/apt and friends, which packages expect to exist
      continue;
    }
    await rm(path, { recursive: true, force: true });
  }
}

function envOf(recipe: Recipe): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of recipe.config.Env ?? []) {
    const eq = kv.indexOf('=');
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  env.PATH ??= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  return env;
}

// ---- processes and mounts ----

/** Runs a command with its output going to log line by line; the last lines go into its error. */
function runLogged(
  command: string,
  args: string[],
  log: (line: string) => void,
  signal: AbortSignal | undefined,
  opts: { env: Record<string, string>; hint?: string },
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const child = spawn(command, args, { env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const onLine = (line: string): void => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      log(line);
    };
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', onLine);
    const onAbort = (): void => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err: NodeJS.ErrnoException) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new Error(`${command} cannot be run${err.code === 'ENOENT' && opts.hint ? ` (${opts.hint})` : ''}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, sig) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return reject(signal.reason);
      if (code === 0) return resolve();
      reject(new Error(`${command} ${args.join(' ')} failed (${sig ?? `exit ${code}`}):\n${tail.join('\n')}`));
    });
  });
}

/**
 * Removes a build's staging directory — after unmounting whatever is still mounted under it (a
 * debootstrap that was killed can leave the tree's /proc and /sys mounted), and never while something
 * still is: a recursive removal would descend into the host's /proc or /sys.
 */
async function removeStaging(staging: string): Promise<void> {
  for (const mount of (await mountsUnder(staging)).reverse()) {
    await new Promise<void>((resolve) => {
      spawn('umount', ['-l', mount], { stdio: 'ignore' }).on('close', () => resolve()).on('error', () => resolve());
    });
  }
  const left = await mountsUnder(staging);
  if (left.length > 0) throw new Error(`cannot remove ${staging}: still mounted there: ${left.join(', ')} (unmount them, then remove it)`);
  await rm(staging, { recursive: true, force: true });
}

/** Mount points at or below dir, outermost first, from /proc/self/mountinfo (field 5; octal escapes). */
async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const points = info.split('\n').map((line) => line.split(' ')[4] ?? '')
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))));
  return points.filter((p) => p === dir || p.startsWith(`${dir}/`)).sort((a, b) => a.length - b.length);
}

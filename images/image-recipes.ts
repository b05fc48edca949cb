/**
 * Language images built on this machine, without a registry: a Debian package set on the shared
 * Debian base, as infra/images/<name>/recipe.json says (see infra/images/README.md). A build is:
 *
 *   1. find the Debian mirror and suite (opts, WARMBOX_DEBIAN_MIRROR, else apt's own configuration)
 *   2. the base: warmbox.local/debian:<suite>-minbase from the store, or debootstrapped into it
 *      first (debian-base.ts) — one copy of Debian under every language image
 *   3. on top of it, a new layer (store/overlay-layer.ts): apt-get install of the recipe's packages,
 *      chrooted into the base with the new layer as its overlayfs upper dir
 *   4. tidy the layer (apt's caches and lists, logs), make the WorkingDir
 *   5. run the recipe's check command in the tree (chroot), which must exit 0
 *   6. store the layer (gzip, streamed) on the base's, as the image's second layer, and tag it — last
 *
 * The tag is docker.io/library/<name>:latest (opts.reference to change it), the name Docker Hub's
 * official image has: a job's `"image": "python"` then finds it without a registry, as it finds the
 * built-in busybox. A later pull of `python` from a reachable Docker Hub would replace the tag with the
 * official image, which is as good for the same programs.
 *
 * Needs root (debootstrap, chroot, mounts) and Debian's debootstrap package (`npm run setup` installs it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { packageRoot } from '../contract/paths.js';
import { RECIPE_NAMES, type RecipeName } from '../contract/recipe-names.js';
import { ensureDebianBase, removeBuildLeftovers } from './debian-base.js';
import type { SnapshotStore, StoredImage } from './image-store.js';
import { OverlayLayer, type Bind } from './store/overlay-layer.js';
import { BUILD_PATH } from './store/run-logged.js';

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

export interface BuiltRecipeImage {
  image: StoredImage;
  /** The base it was built on: made by this build, or found in the store. */
  base: StoredImage;
}

/**
 * Builds a recipe's image into the store and tags it (see the module comment for the steps); returns
 * it as stored, with its base. Takes minutes (the first one longer: it makes the base); its progress
 * goes to opts.onLog line by line.
 */
export async function buildRecipeImage(store: SnapshotStore, name: RecipeName, opts: BuildRecipeOptions = {}): Promise<BuiltRecipeImage> {
  const recipe = RECIPES[name];
  if (!recipe) throw new Error(`no recipe ${JSON.stringify(name)}: there are ${RECIPE_NAMES.join(', ')}`);
  const log = opts.onLog ?? (() => {});
  const reference = opts.reference ?? `docker.io/library/${name}:latest`;
  const source = await resolveDebianSource(opts);
  const { image: base } = await ensureDebianBase(store, source, { debCacheDir: opts.debCacheDir, log, signal: opts.signal });

  const started = Date.now();
  log(`warmbox: building ${reference} on ${base.reference}: ${recipe.packages.join(' ')}`);
  const layer = await OverlayLayer.create(store, base, `recipe-${name}`);
  try {
    await installPackages(layer, recipe, source, opts, log);
    await removeBuildLeftovers(layer.upperDir);
    await makeWorkingDir(layer.upperDir, recipe);
    log(`warmbox: checking: ${recipe.check.join(' ')}`);
    await layer.run(recipe.check, { env: envOf(recipe), log, signal: opts.signal });
    log('warmbox: storing the layer');
    await store.withGarbageCollectionPaused(() => layer.commit({
      reference,
      created: new Date(),
      config: recipe.config,
      createdBy: `warmbox recipe ${name}: apt-get install ${recipe.packages.join(' ')}`,
    }));
  } finally {
    await layer.discard();
  }
  const image = await store.resolve(reference);
  if (!image) throw new Error(`${reference} was built but does not resolve`);
  log(`warmbox: ${reference} is ${image.digest} (its layer built in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return { image, base };
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


// ---- 3. the packages, on the base ----

/** Where the build's apt configuration appears inside the tree (a directory every Debian has). */
const APT_CONFIG_MOUNT = '/mnt';
/** The cache of downloaded .debs inside the tree. */
const APT_ARCHIVES = '/var/cache/apt/archives';

/**
 * apt-get update and install in the tree, from the build's mirror: its sources (and keyring) are
 * bound into the tree for the build, so the layer carries none of them; resolv.conf and hosts are
 * the host's, for the download only; with debCacheDir, the .debs are kept there.
 */
async function installPackages(layer: OverlayLayer, recipe: Recipe, source: DebianSource, opts: BuildRecipeOptions, log: (line: string) => void): Promise<void> {
  const config = await layer.makeScratchDir('apt');
  await mkdir(join(config, 'sources.list.d'));
  const signedBy = source.keyring !== undefined ? ` [signed-by=${APT_CONFIG_MOUNT}/keyring.gpg]` : '';
  if (source.keyring !== undefined) await writeFile(join(config, 'keyring.gpg'), await readFile(source.keyring));
  await writeFile(join(config, 'sources.list'), `deb${signedBy} ${source.mirror} ${source.suite} main\n`);
  const binds: Bind[] = [
    { source: config, target: APT_CONFIG_MOUNT },
    { source: '/etc/resolv.conf', target: '/etc/resolv.conf', optional: true },
    { source: '/etc/hosts', target: '/etc/hosts', optional: true },
  ];
  if (opts.debCacheDir !== undefined) {
    const archives = join(opts.debCacheDir, 'archives');
    await mkdir(join(archives, 'partial'), { recursive: true });
    binds.push({ source: archives, target: APT_ARCHIVES, writable: true });
  }
  const apt = ['apt-get', ...aptOptions(), '--quiet'];
  const env = { LANG: 'C.UTF-8', DEBIAN_FRONTEND: 'noninteractive' };
  log(`warmbox: apt-get install ${recipe.packages.join(' ')}`);
  await layer.run([...apt, 'update'], { env, binds, log, signal: opts.signal });
  await layer.run([...apt, 'install', '--yes', '--no-install-recommends', ...recipe.packages], { env, binds, log, signal: opts.signal });
}

function aptOptions(): string[] {
  return [
    `Dir::Etc::SourceList=${APT_CONFIG_MOUNT}/sources.list`,
    `Dir::Etc::SourceParts=${APT_CONFIG_MOUNT}/sources.list.d`,
    'Acquire::Languages=none',
    // No fsync per file: the tree is staging, stored only once complete (debootstrap does the same).
    'Dpkg::Options::=--force-unsafe-io',
  ].flatMap((o) => ['-o', o]);
}

// ---- 4. the working directory, the check's environment ----

async function makeWorkingDir(upper: string, recipe: Recipe): Promise<void> {
  const workingDir = recipe.config.WorkingDir;
  if (workingDir === undefined || workingDir === '/') return;
  const dir = join(upper, workingDir);
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o1777);
}

function envOf(recipe: Recipe): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of recipe.config.Env ?? []) {
    const eq = kv.indexOf('=');
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  env.PATH ??= BUILD_PATH;
  return env;
}

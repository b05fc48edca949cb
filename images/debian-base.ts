/**
 * The Debian base every language image is built on: `debootstrap --variant=minbase` of the
 * configured suite, tidied, stored as a one-layer image tagged warmbox.local/debian:<suite>-minbase
 * (a name no registry serves, so no pull replaces it). The first recipe build on a store makes it;
 * every later one — python, gcc, node — finds it and adds only its own layer on top, so the store and
 * every sandbox share one copy of Debian. `warmbox rmi` of the base tag makes the next build start
 * from a fresh debootstrap (images already built keep the layer they have).
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SnapshotStore } from './image-store.js';
import type { DebianSource } from './image-recipes.js';
import { ensureImage, type EnsuredImage } from './store/base-image.js';
import { removeBuildStaging } from './store/build-staging.js';
import { buildStreamedLayerImage } from './store/image-builder.js';
import { BUILD_PATH, runLogged } from './store/run-logged.js';

export interface DebianBaseOptions {
  /** A directory where debootstrap keeps the .debs it downloads, to reuse on the next build. */
  debCacheDir?: string;
  log: (line: string) => void;
  signal?: AbortSignal;
}

export function debianBaseReference(suite: string): string {
  return `warmbox.local/debian:${suite}-minbase`;
}

/** The stored base of the source's suite, debootstrapped first when the store has none. */
export async function ensureDebianBase(store: SnapshotStore, source: DebianSource, opts: DebianBaseOptions): Promise<EnsuredImage> {
  const reference = debianBaseReference(source.suite);
  const ensured = await ensureImage(store, reference, () => buildDebianBase(store, source, reference, opts));
  if (!ensured.built) opts.log(`warmbox: base ${reference} (${ensured.image.digest}) is in the store: reusing it`);
  return ensured;
}

async function buildDebianBase(store: SnapshotStore, source: DebianSource, reference: string, opts: DebianBaseOptions): Promise<void> {
  const started = Date.now();
  opts.log(`warmbox: building the base ${reference} from ${source.mirror} ${source.suite}`);
  const staging = await store.makeStagingDir('debian-base');
  const rootfs = join(staging, 'rootfs');
  try {
    if (opts.debCacheDir !== undefined) await mkdir(opts.debCacheDir, { recursive: true });
    const args = debootstrapArgs(source, rootfs, opts.debCacheDir);
    opts.log(`warmbox: debootstrap ${args.join(' ')}`);
    await runLogged('debootstrap', args, opts.log, {
      env: { PATH: BUILD_PATH, LANG: 'C.UTF-8', DEBIAN_FRONTEND: 'noninteractive' },
      hint: "install Debian's debootstrap (`npm run setup` does)",
      signal: opts.signal,
    });
    opts.log(`warmbox: debootstrap done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await removeBuildLeftovers(rootfs);
    await setSandboxIdentity(rootfs);
    opts.log('warmbox: storing the base layer');
    await store.withGarbageCollectionPaused(() => buildStreamedLayerImage(store, {
      reference,
      rootfs,
      created: new Date(),
      config: { Cmd: ['sh'], Env: [`PATH=${BUILD_PATH}`, 'LANG=C.UTF-8'] },
      createdBy: `warmbox: debootstrap --variant=minbase ${source.suite}`,
    }));
  } finally {
    await removeBuildStaging(staging);
  }
  opts.log(`warmbox: base ${reference} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** The debootstrap command line of the base, for the log and for tests. */
export function debootstrapArgs(source: DebianSource, rootfs: string, debCacheDir?: string): string[] {
  const args = ['--variant=minbase', '--components=main'];
  if (source.keyring !== undefined) args.push(`--keyring=${source.keyring}`);
  if (debCacheDir !== undefined) args.push(`--cache-dir=${debCacheDir}`);
  args.push(source.suite, rootfs, source.mirror);
  return args;
}

/**
 * What installing packages leaves that an image should not carry: apt's caches and lists, logs,
 * temporary files. For the base's tree, and for a language layer's upper dir (where the base has
 * none of these, so removing them there leaves no whiteouts).
 */
export async function removeBuildLeftovers(root: string): Promise<void> {
  for (const dir of ['var/cache/apt/archives', 'var/lib/apt/lists', 'var/log', 'tmp', 'var/tmp']) {
    await emptyDir(join(root, dir));
  }
  await rm(join(root, 'var/cache/apt/pkgcache.bin'), { force: true });
  await rm(join(root, 'var/cache/apt/srcpkgcache.bin'), { force: true });
}

/** A sandbox's hostname, and no trace of the build host's name or resolver. */
async function setSandboxIdentity(root: string): Promise<void> {
  await writeFile(join(root, 'etc/hostname'), 'sandbox\n');
  await writeFile(join(root, 'etc/resolv.conf'), '');
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

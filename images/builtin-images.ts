/**
 * The images every warmbox has without a registry: busybox (the host's static busybox with a symlink
 * per applet) and hello-world (a tiny no-libc program from infra/images/hello-world/). Each is a real
 * single-layer OCI image, stored as a pull would store it, so nothing downstream knows the difference.
 *
 * ensureBuiltinImages runs at every server start: for an image already in the store it only reads the
 * ref and the manifest, and writes nothing.
 */
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { SnapshotStore, StoredImage } from './image-store.js';
import { helloWorldBinary } from '../contract/paths.js';
import { buildSingleLayerImage, type SingleLayerImageSpec } from './store/image-builder.js';
import { readHead } from './store/file-head.js';

const run = promisify(execFile);

export const BUSYBOX_IMAGE = 'docker.io/library/busybox:latest';
export const HELLO_WORLD_IMAGE = 'docker.io/library/hello-world:latest';
/** Where Debian's busybox-static puts its binary. */
export const HOST_BUSYBOX = '/bin/busybox';

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const NOBODY = 65534;

export interface BuiltinImageSources {
  /** A statically linked busybox; default HOST_BUSYBOX. */
  busybox?: string;
  /** The hello program; default the one `npm run setup` builds. */
  hello?: string;
}

type Recipe = (rootfs: string, sources: BuiltinImageSources) => Promise<Omit<SingleLayerImageSpec, 'reference' | 'rootfs'>>;

const RECIPES: ReadonlyArray<{ reference: string; recipe: Recipe }> = [
  { reference: BUSYBOX_IMAGE, recipe: busyboxRootfs },
  { reference: HELLO_WORLD_IMAGE, recipe: helloWorldRootfs },
];

/** Makes sure the built-in images are in the store; returns them. */
export async function ensureBuiltinImages(store: SnapshotStore, sources: BuiltinImageSources = {}): Promise<StoredImage[]> {
  const images: StoredImage[] = [];
  for (const { reference, recipe } of RECIPES) {
    const present = await store.resolve(reference);
    if (present) {
      images.push(present);
      continue;
    }
    const staging = await store.makeStagingDir('builtin');
    try {
      const rootfs = join(staging, 'rootfs');
      await mkdir(rootfs);
      const spec = await recipe(rootfs, sources);
      await buildSingleLayerImage(store, { ...spec, reference, rootfs });
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    const built = await store.resolve(reference);
    if (!built) throw new Error(`built-in image ${reference} was built but does not resolve`);
    images.push(built);
  }
  return images;
}

/** busybox: /bin/busybox, /bin/<applet> → busybox, root and nobody, the usual empty directories. */
async function busyboxRootfs(rootfs: string, sources: BuiltinImageSources): Promise<Omit<SingleLayerImageSpec, 'reference' | 'rootfs'>> {
  const busybox = sources.busybox ?? HOST_BUSYBOX;
  await assertStaticExecutable(busybox, 'install Debian\'s busybox-static (`npm run setup` does)');
  const applets = await busyboxApplets(busybox);

  await makeDirs(rootfs, { bin: 0o755, etc: 0o755, proc: 0o755, dev: 0o755, tmp: 0o1777, root: 0o700, home: 0o755, work: 0o1777 });
  await copyFile(busybox, join(rootfs, 'bin', 'busybox'));
  await chmod(join(rootfs, 'bin', 'busybox'), 0o755);
  for (const applet of applets) await symlink('busybox', join(rootfs, 'bin', applet));
  await writeFileMode(join(rootfs, 'etc', 'passwd'), `root:x:0:0:root:/root:/bin/sh\nnobody:x:${NOBODY}:${NOBODY}:nobody:/home:/bin/false\n`, 0o644);
  await writeFileMode(join(rootfs, 'etc', 'group'), `root:x:0:\nnobody:x:${NOBODY}:\n`, 0o644);

  return {
    created: (await stat(busybox)).mtime,
    config: { Env: [DEFAULT_PATH], Cmd: ['sh'] },
    createdBy: `warmbox: the host's static busybox (${busybox}) with ${applets.length} applet symlinks in /bin`,
  };
}

/** hello-world: /hello, which explains what warmbox just did. */
async function helloWorldRootfs(rootfs: string, sources: BuiltinImageSources): Promise<Omit<SingleLayerImageSpec, 'reference' | 'rootfs'>> {
  const hello = sources.hello ?? helloWorldBinary();
  await assertStaticExecutable(hello, 'build it with `npm run setup`');

  await makeDirs(rootfs, { proc: 0o755, dev: 0o755, tmp: 0o1777 });
  await copyFile(hello, join(rootfs, 'hello'));
  await chmod(join(rootfs, 'hello'), 0o755);

  return {
    created: (await stat(hello)).mtime,
    config: { Env: [DEFAULT_PATH], Cmd: ['/hello'] },
    createdBy: 'warmbox: infra/images/hello-world/hello.c, built with gcc -static -nostdlib',
  };
}

async function busyboxApplets(busybox: string): Promise<string[]> {
  const { stdout } = await run(busybox, ['--list']);
  const applets = stdout.split('\n').filter((name) => name !== '' && name !== 'busybox');
  for (const name of applets) {
    if (name.includes('/') || name === '.' || name === '..') throw new Error(`${busybox} --list gave an odd applet name ${JSON.stringify(name)}`);
  }
  return applets.sort();
}

async function makeDirs(rootfs: string, dirs: Record<string, number>): Promise<void> {
  for (const [name, mode] of Object.entries(dirs)) {
    await mkdir(join(rootfs, name));
    await chmod(join(rootfs, name), mode); // explicit: mkdir's mode is cut by the umask and drops the sticky bit
  }
}

async function writeFileMode(path: string, content: string, mode: number): Promise<void> {
  await writeFile(path, content);
  await chmod(path, mode);
}

/**
 * A sandbox has no libraries: its programs must be static ELF executables, i.e. have no PT_INTERP
 * program header (a static-pie has PT_DYNAMIC, but no interpreter).
 */
async function assertStaticExecutable(path: string, fix: string): Promise<void> {
  let elf: Buffer;
  try {
    elf = await readHead(path, 64 * 1024);
  } catch (err) {
    throw new Error(`${path} cannot be read (${(err as Error).message}): ${fix}`, { cause: err });
  }
  if (!isStaticElf64(elf)) throw new Error(`${path} is not a statically linked 64-bit ELF executable: ${fix}`);
}

const PT_INTERP = 3;

export function isStaticElf64(elf: Buffer): boolean {
  const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
  if (elf.length < 64 || !elf.subarray(0, 4).equals(ELF_MAGIC)) return false;
  if (elf[4] !== 2 || elf[5] !== 1) return false; // ELFCLASS64, little-endian (x86_64, aarch64)
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  if (phoff + phnum * phentsize > elf.length) return false;
  for (let i = 0; i < phnum; i++) {
    if (elf.readUInt32LE(phoff + i * phentsize) === PT_INTERP) return false;
  }
  return true;
}


/**
 * A new layer on top of a stored image, made by running commands in it (as a Dockerfile's RUN does):
 *
 *   create   a staging directory with an empty overlayfs upper dir
 *   run      each command chrooted into the image's layers + the upper dir, inside a private mount
 *            namespace (`unshare --mount`) where the overlay, /proc, the host's /dev and the
 *            caller's binds are mounted — so nothing is ever mounted in the host's namespace, and
 *            however a command ends, its mounts end with it
 *   commit   the upper dir (what the commands changed, deletions as whiteouts) stored as one more
 *            layer on the image's own, which are shared, not copied
 *   discard  the staging directory
 *
 * The image's layer directories are overlayfs lower dirs, so the store's copies are never written.
 * Needs root, util-linux's unshare, chroot, and getfattr (Debian's attr) to find opaque directories.
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { SnapshotStore, StoredImage } from '../image-store.js';
import { removeBuildStaging } from './build-staging.js';
import { buildLayerOnImage, type ImageRuntimeConfig } from './image-builder.js';
import { BUILD_PATH, runLogged } from './run-logged.js';

const run = promisify(execFile);

export interface Bind {
  /** A host file or directory. */
  source: string;
  /** Where it appears in the tree: an absolute path that exists in the image (never created, so the layer stays as it is). */
  target: string;
  /** Writable from inside (a cache); default read-only. */
  writable?: boolean;
  /** Skip it when the image has no such target. */
  optional?: boolean;
}

export interface RunInLayerOptions {
  env: Record<string, string>;
  binds?: Bind[];
  log: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * The mount namespace's set-up, then the chroot: $1 merged, $2 lowerdir, $3 upper, $4 work, then
 * binds as (source, target, ro|rw, need|optional) up to '--', then the command, which runs with the
 * PATH in WARMBOX_TREE_PATH.
 */
const RUN_SCRIPT = `set -eu
merged=$1 lower=$2 upper=$3 work=$4; shift 4
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work,index=off,redirect_dir=off,metacopy=off" "$merged"
mount -t proc proc "$merged/proc"
mount --bind /dev "$merged/dev"
while [ "$1" != -- ]; do
  src=$1 target=$2 mode=$3 need=$4; shift 4
  dst=$merged$target
  if [ ! -e "$dst" ]; then
    [ "$need" = optional ] && continue
    echo "warmbox: cannot bind $src: the image has no $target" >&2; exit 1
  fi
  mount --bind "$src" "$dst"
  [ "$mode" = rw ] || mount -o remount,bind,ro "$dst"
done
shift
chroot=$(command -v chroot)
PATH=$WARMBOX_TREE_PATH; unset WARMBOX_TREE_PATH
exec "$chroot" "$merged" "$@"
`;

export class OverlayLayer {
  readonly #store: SnapshotStore;
  readonly #base: StoredImage;
  readonly #staging: string;

  private constructor(store: SnapshotStore, base: StoredImage, staging: string) {
    this.#store = store;
    this.#base = base;
    this.#staging = staging;
  }

  /** An empty layer on `base`, staged in the store's tmp/. */
  static async create(store: SnapshotStore, base: StoredImage, label: string): Promise<OverlayLayer> {
    const lower = [...base.layerDirs].reverse().join(':');
    if (/[,:\\]/.test(base.layerDirs.join(''))) throw new Error(`layer paths with ',', ':' or '\\' cannot be overlayfs lower dirs: ${lower}`);
    const staging = await store.makeStagingDir(label);
    const layer = new OverlayLayer(store, base, staging);
    for (const dir of ['upper', 'work', 'merged']) await mkdir(join(staging, dir), { mode: 0o755 });
    return layer;
  }

  /** A directory of the host for the build's own files (to bind into the tree), removed with the layer. */
  async makeScratchDir(name: string): Promise<string> {
    const dir = join(this.#staging, 'scratch', name);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    return dir;
  }

  /** The layer's content so far: files written here directly are part of it. */
  get upperDir(): string {
    return join(this.#staging, 'upper');
  }

  /** Runs argv chrooted into the image with this layer on top (see the module comment). */
  async run(argv: string[], opts: RunInLayerOptions): Promise<void> {
    const binds = (opts.binds ?? []).flatMap((b) => [b.source, b.target, b.writable ? 'rw' : 'ro', b.optional ? 'optional' : 'need']);
    const lower = [...this.#base.layerDirs].reverse().join(':');
    const args = ['--mount', '--propagation', 'private', '--', 'sh', '-c', RUN_SCRIPT, 'sh',
      join(this.#staging, 'merged'), lower, this.upperDir, join(this.#staging, 'work'), ...binds, '--', ...argv];
    // The script finds the host's tools on BUILD_PATH; the command gets opts.env, its PATH included.
    const env = { ...opts.env, PATH: BUILD_PATH, WARMBOX_TREE_PATH: opts.env.PATH ?? BUILD_PATH };
    await runLogged('unshare', args, opts.log, { env, hint: "install util-linux's unshare", signal: opts.signal, describe: `chroot <image + layer> ${argv.join(' ')}` });
  }

  /** Stores the layer on the image's layers and tags the result; returns its manifest digest. */
  async commit(spec: { reference: string; created: Date; config: ImageRuntimeConfig; createdBy: string }): Promise<string> {
    return buildLayerOnImage(this.#store, { ...spec, baseDigest: this.#base.digest, upperDir: this.upperDir, opaqueDirs: await opaqueDirsOf(this.upperDir) });
  }

  async discard(): Promise<void> {
    await removeBuildStaging(this.#staging);
  }
}

/** Directories of an overlayfs upper dir marked opaque (trusted.overlay.opaque=y), relative to it. */
export async function opaqueDirsOf(upper: string): Promise<Set<string>> {
  const { stdout } = await run('getfattr', ['--absolute-names', '--physical', '--recursive', '--no-dereference', '--match=^trusted\\.overlay\\.opaque$', '--dump', upper], { maxBuffer: 64 << 20, env: { PATH: BUILD_PATH, LC_ALL: 'C' } })
    .catch((err: NodeJS.ErrnoException) => {
      throw new Error(`getfattr ${err.code === 'ENOENT' ? "is not installed (Debian's attr package; `npm run setup` installs it)" : `failed: ${err.message}`}`, { cause: err });
    });
  const dirs = new Set<string>();
  let file: string | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('# file: ')) file = unescapeGetfattr(line.slice('# file: '.length));
    else if (file !== undefined && line === 'trusted.overlay.opaque="y"' && file.startsWith(`${upper}/`)) dirs.add(file.slice(upper.length + 1));
  }
  return dirs;
}

/** getfattr writes unusual characters of a name as backslash and three octal digits. */
function unescapeGetfattr(name: string): string {
  return Buffer.from(name.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))), 'latin1').toString('utf8');
}

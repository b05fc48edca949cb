/**
 * Looks a path up in an image as a sandbox will see it — its layer directories stacked as overlayfs
 * stacks them — without mounting anything and without ever following a symlink on the host: each
 * name is lstat'ed in the layers where its parent is a directory, and a symlink's target is resolved
 * by this code, inside the image's root, as the kernel resolves it inside the sandbox.
 *
 * overlayfs' rules: the top-most layer that has a name decides what it is; a whiteout (a 0:0
 * character device) hides the name in the layers below; a directory merges with the directories of
 * the same name below it, unless it is opaque (trusted.overlay.opaque=y) or something that is no
 * directory comes first.
 */
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isOpaque } from './overlay-special-files.js';

/** Linux's MAXSYMLINKS: more symlinks than this in one lookup is ELOOP. */
const MAX_SYMLINKS = 40;

export type LayeredPath =
  /** A directory of the image (resolved: no symlink in `path`), or a path the sandbox creates. */
  | { kind: 'directory' | 'missing'; path: string }
  /** Cannot be a directory: a file on the way, a loop, a `..` out of the root, a refused place. */
  | { kind: 'refused'; reason: string };

type Entry = { kind: 'directory'; dirs: string[] } | { kind: 'symlink'; target: string } | { kind: 'other'; what: string } | { kind: 'missing' };

/**
 * Resolves an absolute path in the image whose layers are layerDirs (bottom-most first, as a
 * StoredImage lists them). refuse(path) names a resolved path that must not be reached (the
 * sandbox's /proc, say), checked at every step.
 */
export async function resolveInLayers(layerDirs: string[], path: string, refuse: (resolved: string) => string | undefined): Promise<LayeredPath> {
  const root: string[] = [...layerDirs].reverse();
  const stack: { name: string; dirs: string[] }[] = [];
  const todo = path.split('/');
  let symlinks = 0;
  while (todo.length > 0) {
    const name = todo.shift() as string;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      if (stack.pop() === undefined) return { kind: 'refused', reason: "a '..' leads out of the image's root" };
      continue;
    }
    const here = `/${[...stack.map((s) => s.name), name].join('/')}`;
    const why = refuse(here);
    if (why !== undefined) return { kind: 'refused', reason: why };
    const entry = await lookup(stack.at(-1)?.dirs ?? root, name);
    switch (entry.kind) {
      case 'directory':
        stack.push({ name, dirs: entry.dirs });
        continue;
      case 'symlink':
        if (++symlinks > MAX_SYMLINKS) return { kind: 'refused', reason: `more than ${MAX_SYMLINKS} symbolic links on the way (a loop?)` };
        if (entry.target.startsWith('/')) stack.length = 0;
        todo.unshift(...entry.target.split('/'));
        continue;
      case 'other':
        return { kind: 'refused', reason: `${here} is ${entry.what} in the image, not a directory` };
      case 'missing': {
        const rest = todo.filter((n) => n !== '' && n !== '.');
        if (rest.includes('..')) return { kind: 'refused', reason: `'..' after ${here}, which the image does not have` };
        return { kind: 'missing', path: [here, ...rest].join('/') };
      }
    }
  }
  return { kind: 'directory', path: `/${stack.map((s) => s.name).join('/')}` };
}

/** What `name` is in the merged directory whose layer directories are dirs (top-most first). */
async function lookup(dirs: string[], name: string): Promise<Entry> {
  const found: string[] = [];
  for (const [i, dir] of dirs.entries()) {
    const path = join(dir, name);
    const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (st === undefined) continue;
    if (st.isCharacterDevice() && st.rdev === 0) break; // a whiteout: nothing of this name below
    if (st.isDirectory()) {
      found.push(path);
      if (i < dirs.length - 1 && (await isOpaque(path))) break;
      continue;
    }
    if (found.length > 0) break; // below a directory, a non-directory is hidden by it
    if (st.isSymbolicLink()) return { kind: 'symlink', target: await readlink(path) };
    return { kind: 'other', what: st.isFile() ? 'a regular file' : st.isFIFO() ? 'a FIFO' : 'a special file' };
  }
  return found.length > 0 ? { kind: 'directory', dirs: found } : { kind: 'missing' };
}

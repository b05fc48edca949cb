/**
 * Layer directories of a snapshot store that sandboxes on this host still use, found where the
 * kernel says: a sandbox's supervisor (native/mnt.c mnt_hold_layers) keeps each layer dir of its
 * overlay open for the sandbox's whole life, so /proc/<pid>/fd of every process on the host shows
 * every sandbox of every warmbox process that shares the store, parked or running. (The overlay's
 * own options name the layers by links relative to the sandbox's tmpfs: the job's mount table
 * shows no host path, and neither does it tell the host which layers are in use.) A garbage
 * collection keeps these (keepLayerDirs): removing files under a live overlay would pull the floor
 * from under a job.
 */
import { readdir, readlink } from 'node:fs/promises';
import { resolve } from 'node:path';

export async function mountedLayerDirs(storeRoot: string, procDir = '/proc'): Promise<Set<string>> {
  const layerDir = layerDirMatcher(storeRoot);
  const found = new Set<string>();
  for (const name of await readdir(procDir)) {
    if (!/^\d+$/.test(name)) continue;
    for (const target of await openPaths(`${procDir}/${name}/fd`)) {
      const dir = layerDir(target);
      if (dir !== undefined) found.add(dir);
    }
  }
  return found;
}

/** The paths a process has open; none when it exited meanwhile or is not ours to read. */
async function openPaths(fdDir: string): Promise<string[]> {
  let fds: string[];
  try {
    fds = await readdir(fdDir);
  } catch {
    return [];
  }
  const paths = await Promise.all(fds.map((fd) => readlink(`${fdDir}/${fd}`).catch(() => '')));
  return paths.filter((p) => p.startsWith('/'));
}

/** Maps a path to the store's layer dir it is (or is in), e.g. `<store>/layers/sha256/<hex>`. */
function layerDirMatcher(storeRoot: string): (path: string) => string | undefined {
  const prefix = `${resolve(storeRoot)}/layers/`;
  return (path) => {
    if (!path.startsWith(prefix)) return undefined;
    const [algorithm, hex] = path.slice(prefix.length).split('/');
    return algorithm && hex ? `${prefix}${algorithm}/${hex}` : undefined;
  };
}
